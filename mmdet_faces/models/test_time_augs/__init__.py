"""Test-time augmentation models (``MODELS``)."""
from .s3fd_tta import S3FDTTAModel, bbox_vote

__all__ = ['S3FDTTAModel', 'bbox_vote']
