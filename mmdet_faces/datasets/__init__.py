"""WIDER Face data: the dataset (``DATASETS``), its transforms, the
annotation file readers / writers and the record of skipped images."""
from .skipped_images import (SKIPPED_IMAGES_DIR_ENV, read_skipped_images,
                             record_skipped_image)
from .transforms import (REFERENCE_INTERPOLATIONS, FacePhotoMetricDistortion,
                         LetterboxResize, LoadFaceAnnotations, LoadFaceImage,
                         PackFaceInputs, RandomInterpResize, RandomSquareCrop,
                         ResizeShortSide, SCRFDRandomSquareCrop)
from .wider_face_landmark import (FACE_ANN_COLUMNS, FACE_ANN_SLICES,
                                  NUM_FACE_ANN_COLUMNS,
                                  WIDERFaceLandmarkDataset, empty_face_anns)
from .widerface_io import (ANN_FORMATS, ATTRIBUTE_NAMES, WiderAnnotations,
                           WiderAnnotationWarning, detect_format,
                           landmarks_labelled, load_wider_annotations,
                           parse_image_list, parse_official_labels,
                           parse_retinaface_labels, write_image_list,
                           write_official_labels, write_retinaface_labels)

__all__ = [
    'SKIPPED_IMAGES_DIR_ENV', 'read_skipped_images', 'record_skipped_image',
    'FacePhotoMetricDistortion', 'LetterboxResize', 'LoadFaceAnnotations',
    'LoadFaceImage', 'PackFaceInputs', 'REFERENCE_INTERPOLATIONS',
    'RandomInterpResize', 'RandomSquareCrop', 'ResizeShortSide',
    'SCRFDRandomSquareCrop', 'FACE_ANN_COLUMNS', 'FACE_ANN_SLICES',
    'NUM_FACE_ANN_COLUMNS', 'WIDERFaceLandmarkDataset', 'empty_face_anns',
    'ANN_FORMATS', 'ATTRIBUTE_NAMES', 'WiderAnnotationWarning',
    'WiderAnnotations', 'detect_format', 'landmarks_labelled',
    'load_wider_annotations', 'parse_image_list', 'parse_official_labels',
    'parse_retinaface_labels', 'write_image_list', 'write_official_labels',
    'write_retinaface_labels'
]
