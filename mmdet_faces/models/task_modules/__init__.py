"""Assigners and coders (``TASK_UTILS``)."""
from .assigners import (RetinaFaceAssigner, S3FDAssigner,
                        S3FDBatchAssignResult, reference_iou)
from .coders import LandmarkCoder

__all__ = [
    'RetinaFaceAssigner', 'S3FDAssigner', 'S3FDBatchAssignResult',
    'reference_iou', 'LandmarkCoder'
]
