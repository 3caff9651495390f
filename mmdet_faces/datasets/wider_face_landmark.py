"""WIDER Face with 5-point landmarks, read from the files users have."""
import logging
import os.path as osp
import pickle
import warnings
from typing import Dict, List, Optional

import numpy as np
from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from ..utils import relay_warnings
from .widerface_io import (ATTRIBUTE_NAMES, WiderAnnotations,
                           WiderAnnotationWarning, landmarks_labelled,
                           load_wider_annotations)

# Column layout of the per-image ``face_anns`` array (float32, one row per
# face) stored in every data info and read by ``LoadFaceAnnotations``.
FACE_ANN_COLUMNS = (
    ('bbox', slice(0, 4)),  # x1 y1 x2 y2 (x2 = x + w, as the reference)
    ('keypoints', slice(4, 14)),  # l0x l0y ... l4x l4y
    ('keypoints_visible', slice(14, 19)),  # 1 = labelled
    ('keypoints_flag', slice(19, 24)),  # file flag: 0 visible, 1 occluded
    ('ignore', slice(24, 25)),  # 1 = ignored face
    ('attributes', slice(25, 31)),  # ATTRIBUTE_NAMES, -1 = unknown
    ('line', slice(31, 32)),  # 1-based line in the annotation file
)
FACE_ANN_SLICES: Dict[str, slice] = dict(FACE_ANN_COLUMNS)
NUM_FACE_ANN_COLUMNS = 32


def empty_face_anns() -> np.ndarray:
    """A (0, 32) float32 ``face_anns`` array."""
    return np.zeros((0, NUM_FACE_ANN_COLUMNS), dtype=np.float32)


@DATASETS.register_module()
class WIDERFaceLandmarkDataset(BaseDetDataset):
    """WIDER Face (or any data in its formats) with 5 landmarks per face.

    Reads a RetinaFace ``label.txt``, an official ``wider_face_*_bbx_gt.txt``
    or an image list (``wider_val.txt``, test-only: no boxes). Every data
    info holds ``img_path``, ``img_id`` (``'<event>/<name>'``) and
    ``face_anns``: a (num_faces, 32) float32 array, columns in
    ``FACE_ANN_COLUMNS`` (boxes, landmarks, labelled flags, ignore flag,
    attributes, source line). ``LoadFaceAnnotations`` turns it into
    ``gt_bboxes`` (``BBoxKeypoints``), ``gt_bboxes_labels`` and
    ``gt_ignore_flags``. Images are not opened or stat'ed here.

    Faces with ``w <= 0`` or ``h <= 0`` are dropped (one summary warning;
    the count is ``self.num_dropped_boxes``). An image listed more than
    once is kept each time (one warning; the count of repeated listings is
    ``self.num_duplicate_images``). Images without faces are kept
    as negatives unless ``filter_cfg=dict(filter_empty_gt=True)``.

    Args:
        ann_file (str): annotation file (relative to ``data_root``).
        ann_format (str): 'auto' (detect from the content), 'retinaface',
            'official' or 'list'. Defaults to 'auto'.
        data_prefix (dict): ``dict(img='...')`` image folder. When empty,
            ``<dirname(ann_file)>/images`` (the RetinaFace layout).
        min_size (float, optional): faces whose short side
            ``min(w, h)`` is below this become ignored (not dropped).
            Defaults to None (keep all).
        ignore_invalid (bool): faces with the official ``invalid`` flag
            become ignored. Defaults to True.
        **kwargs: ``BaseDetDataset`` arguments (``data_root``, ``pipeline``,
            ``test_mode``, ``filter_cfg``, ...).
    """

    METAINFO = {'classes': ('face', ), 'palette': [(0, 255, 0)]}

    def __init__(self,
                 *args,
                 ann_format: str = 'auto',
                 min_size: Optional[float] = None,
                 ignore_invalid: bool = True,
                 **kwargs) -> None:
        self.ann_format = ann_format
        self.min_size = min_size
        self.ignore_invalid = ignore_invalid
        self.num_dropped_boxes = 0
        self.num_duplicate_images = 0
        self.dropped_box_locations: List[str] = []
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Parse the annotation file into per-image data infos."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', WiderAnnotationWarning)
            ann = load_wider_annotations(self.ann_file, self.ann_format)
        relay_warnings(  # to the log, as the other warnings here
            caught, WiderAnnotationWarning, lambda msg: print_log(
                f'{self.__class__.__name__}: {msg}',
                logger='current',
                level=logging.WARNING))
        self.num_duplicate_images = int(
            ann.extra.get('num_duplicate_images', 0))
        self.ann_format_loaded = ann.ann_format
        img_prefix = self.data_prefix.get('img', '') or self.data_prefix.get(
            'img_path', '')
        if not img_prefix:
            img_prefix = osp.join(osp.dirname(self.ann_file), 'images')
        face_anns, offsets = self._build_face_anns(ann)
        per_image = np.split(face_anns, offsets[1:-1].tolist()) \
            if ann.num_images else []
        prefix = img_prefix.rstrip('/\\') + '/'
        data_list = [
            dict(
                img_path=prefix + name,
                img_id=osp.splitext(name)[0],
                face_anns=anns) for name, anns in zip(ann.img_names, per_image)
        ]
        return data_list

    def _build_face_anns(self, ann: WiderAnnotations):
        """All faces as one (F, 32) float32 array and per-image offsets."""
        x, y, w, h = ann.bboxes.T
        keep = (w > 0) & (h > 0)
        num_dropped = int(keep.size - np.count_nonzero(keep))
        self.num_dropped_boxes = num_dropped
        if num_dropped:
            bad = np.flatnonzero(~keep)
            self.dropped_box_locations = [
                f'{ann.ann_file}:{int(ann.line_numbers[i])}' for i in bad[:5]
            ]
            more = ' ...' if num_dropped > 5 else ''
            print_log(
                f'{self.__class__.__name__}: dropped {num_dropped} '
                f'zero-size boxes (w <= 0 or h <= 0) from {ann.ann_file}, '
                f'at {", ".join(self.dropped_box_locations)}{more}',
                logger='current',
                level=logging.WARNING)
        img_of_face = np.repeat(
            np.arange(ann.num_images), np.diff(ann.offsets))
        img_of_face = img_of_face[keep]
        counts = np.bincount(img_of_face, minlength=ann.num_images)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

        num = int(np.count_nonzero(keep))
        out = np.empty((num, NUM_FACE_ANN_COLUMNS), dtype=np.float32)
        bxywh = ann.bboxes[keep]
        out[:, 0:2] = bxywh[:, 0:2]
        out[:, 2:4] = bxywh[:, 0:2] + bxywh[:, 2:4]
        lmk = ann.landmarks[keep]
        visible = landmarks_labelled(lmk)
        out[:, 4:14] = lmk[..., :2].reshape(num, 10)
        out[:, 14:19] = visible
        out[:, 19:24] = np.where(visible, lmk[..., 2], -1)
        ignore = np.zeros(num, dtype=bool)
        invalid = ann.attributes['invalid'][keep]
        if self.ignore_invalid:
            ignore |= invalid == 1
        if self.min_size is not None:
            ignore |= np.minimum(bxywh[:, 2], bxywh[:, 3]) < self.min_size
        out[:, 24] = ignore
        for j, k in enumerate(ATTRIBUTE_NAMES):
            out[:, 25 + j] = ann.attributes[k][keep]
        out[:, 31] = ann.line_numbers[keep]
        return out, offsets

    def filter_data(self) -> List[dict]:
        """Drop images without non-ignored faces if
        ``filter_cfg=dict(filter_empty_gt=True)`` (never in test mode)."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        unknown = set(self.filter_cfg) - {'filter_empty_gt'}
        if unknown:
            raise ValueError(f'{self.__class__.__name__}: unsupported '
                             f'filter_cfg keys {sorted(unknown)}')
        if not self.filter_cfg.get('filter_empty_gt', False):
            return self.data_list
        return [
            d for d in self.data_list if (d['face_anns'][:, 24] == 0).any()
        ]

    def _serialize_data(self):
        """As mmengine's, but faster: ``face_anns`` is pickled as raw bytes
        (pickling 12,880 small numpy arrays costs ~0.25 s, bytes ~0.01 s),
        no ``gc.collect()``, and an empty data list is allowed."""
        if not self.data_list:
            return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
        dumps = pickle.dumps
        chunks = []
        for info in self.data_list:
            anns = info.get('face_anns')
            if isinstance(anns, np.ndarray):
                info = dict(
                    info,
                    face_anns=np.ascontiguousarray(anns,
                                                   dtype=np.float32).tobytes())
            chunks.append(dumps(info, protocol=4))
        address = np.cumsum([len(c) for c in chunks], dtype=np.int64)
        data_bytes = np.frombuffer(b''.join(chunks), dtype=np.uint8)
        self.data_list.clear()
        return data_bytes, address

    def get_data_info(self, idx: int) -> dict:
        """The data info of ``idx``; ``face_anns`` as a (N, 32) float32
        array."""
        info = super().get_data_info(idx)
        anns = info.get('face_anns')
        if isinstance(anns, (bytes, bytearray)):
            info['face_anns'] = np.frombuffer(
                anns, dtype=np.float32).reshape(-1,
                                                NUM_FACE_ANN_COLUMNS).copy()
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        """Category ids of the faces in image ``idx`` (all 0)."""
        return [0] * len(self.get_data_info(idx)['face_anns'])

    def get_face_attributes(self, idx: int) -> Dict[str, np.ndarray]:
        """Per-face attributes of image ``idx`` (-1 = unknown), plus
        ``ignore`` and ``line`` (source line)."""
        anns = self.get_data_info(idx)['face_anns']
        out = {k: anns[:, 25 + j] for j, k in enumerate(ATTRIBUTE_NAMES)}
        out['ignore'] = anns[:, 24] > 0
        out['line'] = anns[:, 31].astype(np.int64)
        return out


__all__ = [
    'WIDERFaceLandmarkDataset', 'FACE_ANN_COLUMNS', 'FACE_ANN_SLICES',
    'NUM_FACE_ANN_COLUMNS', 'empty_face_anns'
]
