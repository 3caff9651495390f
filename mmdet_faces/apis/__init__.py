"""Inference APIs: :class:`FaceInferencer` (mmdet's ``DetInferencer`` for
face detectors) and its front :class:`FaceDetector` (config + checkpoint ->
boxes, scores and landmarks in original-image coordinates)."""
from .checkpoint_fit import (CheckpointFitError, check_state_dict_fits,
                             strict_checkpoint_loading)
from .face_detector import FaceDetector
from .face_inferencer import (FaceDetections, FaceInferencer,
                              make_test_pipeline_cfg)

__all__ = [
    'FaceDetector', 'FaceInferencer', 'FaceDetections',
    'make_test_pipeline_cfg', 'CheckpointFitError', 'check_state_dict_fits',
    'strict_checkpoint_loading'
]
