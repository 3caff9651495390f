"""Inference APIs: :class:`FaceDetector` (config + checkpoint -> boxes,
scores and landmarks in original-image coordinates)."""
from .face_detector import (FaceDetections, FaceDetector,
                            make_test_pipeline_cfg)

__all__ = ['FaceDetector', 'FaceDetections', 'make_test_pipeline_cfg']
