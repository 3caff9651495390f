"""The RetinaFace reference square crop (biubug6 ``data_augment._crop``)."""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import BaseBoxes

from mmdet_faces.structures import BBoxKeypoints
from .utils import compose_homography


@TRANSFORMS.register_module()
class RandomSquareCrop(BaseTransform):
    """Random square crop of the RetinaFace reference, with pad on failure.

    Up to ``max_tries`` times: draw ``scale`` from ``crop_choice``, side
    ``int(scale * min(h, w))`` and a random top-left corner
    (``randrange(w - side)``, 0 when the side equals the image size); accept
    the crop when it fully contains at least one non-ignored face of area
    >= 1 (the reference's ``matrix_iof >= 1``). Faces whose centre lies
    strictly inside the crop are kept (ignored ones too), their boxes are
    clipped to the crop and their landmarks shifted (and, as the reference
    does, clamped to the crop when ``clip_keypoints``). When no try
    succeeds the image is padded to a square (long side) with ``pad_val``
    at the bottom/right, boxes unchanged, as the reference's
    ``_pad_to_square``; ``results['square_padded']`` records it and
    ``results['square_content_shape']`` the (h, w) of the real content.

    An image without non-ignored faces gets one random square crop (scale
    drawn as above) so that it still serves as a negative.

    Random numbers come from numpy's global RNG (seeded per worker by
    mmengine).

    Required keys: ``img``; optional ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags``. Modified: those and ``img_shape``. Added:
    ``square_padded``, ``square_content_shape``, ``homography_matrix``.

    Args:
        crop_choice (Sequence[float]): scales of the short side.
            Defaults to (0.3, 0.45, 0.6, 0.8, 1.0).
        max_tries (int): tries before padding. Defaults to 250.
        pad_val (Sequence[float]): BGR fill of the padding.
            Defaults to (104, 117, 123).
        clip_keypoints (bool): clamp landmarks to the crop like the
            reference. Defaults to True.
    """

    def __init__(self,
                 crop_choice: Sequence[float] = (0.3, 0.45, 0.6, 0.8, 1.0),
                 max_tries: int = 250,
                 pad_val: Sequence[float] = (104, 117, 123),
                 clip_keypoints: bool = True) -> None:
        if not crop_choice or not all(0 < s <= 1 for s in crop_choice):
            raise ValueError(f'crop_choice must be scales in (0, 1], got '
                             f'{crop_choice}')
        self.crop_choice = tuple(float(s) for s in crop_choice)
        self.max_tries = int(max_tries)
        self.pad_val = tuple(pad_val)
        self.clip_keypoints = clip_keypoints

    def _draw_roi(self, height: int, width: int) -> Tuple[int, int, int]:
        """Draw a square crop as the reference does.

        Returns:
            tuple[int, int, int]: ``(left, top, side)`` inside the image.
        """
        scale = self.crop_choice[np.random.randint(len(self.crop_choice))]
        side = max(int(scale * min(width, height)), 1)
        left = 0 if width == side else int(np.random.randint(width - side))
        top = 0 if height == side else int(np.random.randint(height - side))
        return left, top, side

    def transform(self, results: dict) -> dict:
        """Crop ``results`` to a square holding a face, or pad it to one.

        Args:
            results (dict): Result dict with ``img`` and, optionally, the
                ground-truth boxes, labels and ignore flags.

        Returns:
            dict: The cropped (or square-padded) results.
        """
        img = results['img']
        height, width = img.shape[:2]
        boxes: Optional[BaseBoxes] = results.get('gt_bboxes')
        num = 0 if boxes is None else len(boxes)
        if num:
            b = boxes.tensor.numpy().astype(np.float64)
            ignore = results.get('gt_ignore_flags')
            valid = np.ones(num, dtype=bool) if ignore is None else \
                ~np.asarray(ignore, dtype=bool)
            bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
            # matrix_iof >= 1 needs area >= 1 (it divides by max(area, 1))
            countable = valid & (bw > 0) & (bh > 0) & (bw * bh >= 1)
            centers = (b[:, :2] + b[:, 2:]) / 2
        else:
            valid = np.zeros(0, dtype=bool)

        if not valid.any():
            left, top, side = self._draw_roi(height, width)
            return self._crop(results, left, top, side,
                              centers if num else None)

        for _ in range(self.max_tries):
            left, top, side = self._draw_roi(height, width)
            right, bottom = left + side, top + side
            contained = countable & (b[:, 0] >= left) & (b[:, 1] >= top) & (
                b[:, 2] <= right) & (
                    b[:, 3] <= bottom)
            if not contained.any():
                continue
            return self._crop(results, left, top, side, centers)
        return self._pad_to_square(results)

    def _crop(self, results: dict, left: int, top: int, side: int,
              centers: Optional[np.ndarray]) -> dict:
        """Cut the crop at ``(left, top)`` and keep the faces centred in it.

        Args:
            results (dict): Result dict to update in place.
            left (int): Crop left.
            top (int): Crop top.
            side (int): Crop side.
            centers (np.ndarray, optional): Face centres ``(N, 2)``; None
                when the image has no boxes.

        Returns:
            dict: ``results`` with the crop, its faces and homography.
        """
        img = results['img']
        results['img'] = img[top:top + side, left:left + side]
        results['img_shape'] = results['img'].shape[:2]
        results['square_padded'] = False
        results['square_content_shape'] = results['img'].shape[:2]
        self._record_homography(results, left, top)
        if centers is None:
            return results
        roi = np.array([left, top, left + side, top + side], dtype=np.float64)
        keep = ((roi[:2] < centers) & (centers < roi[2:])).all(axis=1)
        return self._keep_and_shift(results, keep, left, top, side, True,
                                    self.clip_keypoints)

    @staticmethod
    def _keep_and_shift(results: dict, keep: np.ndarray, left: int, top: int,
                        side: int, clip_boxes: bool,
                        clip_keypoints: bool) -> dict:
        """Keep the faces of ``keep``, move them by ``(-left, -top)`` and
        clip their boxes / landmarks to ``[0, side]`` as asked."""
        boxes = results['gt_bboxes'][keep]
        boxes.translate_((-left, -top))
        if clip_boxes:
            boxes.clip_((side, side))
        if clip_keypoints and isinstance(boxes, BBoxKeypoints):
            boxes.keypoints = boxes.keypoints.clamp(0, side)
        results['gt_bboxes'] = boxes
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            if results.get(key) is not None:
                results[key] = results[key][keep]
        return results

    def _pad_to_square(self, results: dict) -> dict:
        """Pad the image at the bottom / right to a square of its long side.

        Boxes stay where they are; ``square_padded`` is set and
        ``square_content_shape`` holds the original ``(h, w)``.
        """
        img = results['img']
        height, width = img.shape[:2]
        long_side = max(height, width)
        out = np.empty((long_side, long_side) + img.shape[2:], dtype=img.dtype)
        out[...] = np.asarray(self.pad_val, dtype=img.dtype) \
            if img.ndim == 3 else self.pad_val[0]
        out[:height, :width] = img
        results['img'] = out
        results['img_shape'] = out.shape[:2]
        results['square_padded'] = True
        results['square_content_shape'] = (height, width)
        return results

    @staticmethod
    def _record_homography(results: dict, left: int, top: int) -> None:
        """Compose the shift by ``(-left, -top)`` into the homography."""
        matrix = np.array([[1, 0, -left], [0, 1, -top], [0, 0, 1]],
                          dtype=np.float32)
        compose_homography(results, matrix)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_choice={self.crop_choice}, '
                f'max_tries={self.max_tries}, pad_val={self.pad_val}, '
                f'clip_keypoints={self.clip_keypoints})')


__all__ = ['RandomSquareCrop']
