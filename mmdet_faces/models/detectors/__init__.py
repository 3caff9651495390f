"""Detectors (``MODELS``)."""
from .retinaface import RetinaFace
from .s3fd import S3FD
from .scrfd import SCRFD

__all__ = ['RetinaFace', 'S3FD', 'SCRFD']
