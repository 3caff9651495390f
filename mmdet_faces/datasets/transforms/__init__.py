"""Face data transforms (``TRANSFORMS``)."""
from .formatting import PackFaceInputs
from .letterbox_resize import LetterboxResize
from .loading import LoadFaceAnnotations, LoadFaceImage
from .photometric import FacePhotoMetricDistortion
from .random_square_crop import RandomSquareCrop
from .resize import REFERENCE_INTERPOLATIONS, RandomInterpResize
from .resize_short_side import ResizeShortSide
from .scrfd_random_square_crop import SCRFDRandomSquareCrop
from .utils import compose_homography

__all__ = [
    'PackFaceInputs', 'LetterboxResize', 'LoadFaceAnnotations',
    'LoadFaceImage', 'FacePhotoMetricDistortion', 'RandomSquareCrop',
    'REFERENCE_INTERPOLATIONS', 'RandomInterpResize', 'ResizeShortSide',
    'SCRFDRandomSquareCrop', 'compose_homography'
]
