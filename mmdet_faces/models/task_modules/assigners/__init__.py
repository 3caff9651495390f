"""Assigners (``TASK_UTILS``)."""
from .retinaface_assigner import RetinaFaceAssigner, reference_iou
from .s3fd_assigner import S3FDAssigner, S3FDBatchAssignResult

__all__ = [
    'RetinaFaceAssigner', 'reference_iou', 'S3FDAssigner',
    'S3FDBatchAssignResult'
]
