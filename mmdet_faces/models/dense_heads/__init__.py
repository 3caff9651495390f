"""Dense heads (``MODELS``)."""
from .retinaface_head import RetinaFaceHead
from .s3fd_head import S3FDHead
from .scrfd_head import SCRFDHead

__all__ = ['RetinaFaceHead', 'S3FDHead', 'SCRFDHead']
