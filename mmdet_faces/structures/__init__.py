"""Box types: :class:`BBoxKeypoints` (``'bbox_kpt'``)."""
from .bbox_keypoints import FACE_FLIP_INDICES, BBoxKeypoints

__all__ = ['FACE_FLIP_INDICES', 'BBoxKeypoints']
