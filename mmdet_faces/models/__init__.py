"""Face detection models: every component registered in mmdet's ``MODELS``
and ``TASK_UTILS``."""
from .backbones import S3FDVGG, MobileNetV1, ResNetV1e
from .dense_heads import RetinaFaceHead, S3FDHead, SCRFDHead
from .detectors import S3FD, SCRFD, RetinaFace
from .layers import L2Norm
from .necks import FaceSSH, FaceSSHBlock, RetinaFaceFPN, reference_act_cfg
from .task_modules import (LandmarkCoder, RetinaFaceAssigner, S3FDAssigner,
                           S3FDBatchAssignResult, reference_iou)
from .test_time_augs import S3FDTTAModel, bbox_vote

__all__ = [
    'MobileNetV1', 'ResNetV1e', 'S3FDVGG', 'RetinaFaceHead', 'S3FDHead',
    'SCRFDHead', 'RetinaFace', 'S3FD', 'SCRFD', 'L2Norm', 'FaceSSH',
    'FaceSSHBlock', 'RetinaFaceFPN', 'reference_act_cfg', 'LandmarkCoder',
    'RetinaFaceAssigner', 'S3FDAssigner', 'S3FDBatchAssignResult',
    'reference_iou', 'S3FDTTAModel', 'bbox_vote'
]
