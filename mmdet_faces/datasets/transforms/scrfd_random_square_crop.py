"""The SCRFD random square crop (insightface ``detection/scrfd``
``RandomSquareCrop``)."""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmdet.registry import TRANSFORMS

from .random_square_crop import RandomSquareCrop


@TRANSFORMS.register_module()
class SCRFDRandomSquareCrop(RandomSquareCrop):
    """Random square crop of SCRFD, which may reach outside the image.

    Draw ``scale`` from ``crop_choice``, side ``int(scale * min(h, w))``
    and a top-left corner uniform in ``[0, w - side)`` (``[w - side, 0)``
    when the side is longer, 0 when equal; the same for ``top``). Up to
    ``max_tries`` corners per scale: accept the first crop that holds the
    centre of a non-ignored face strictly inside. Without success the scale
    is drawn again (or, when no scale exceeds 1, multiplied by 1.2), as the
    reference loops. The crop is a ``side x side`` image: the image content
    it covers and ``pad_val`` (128, as the reference) elsewhere. Faces whose
    centre lies strictly inside are kept (ignored ones too), shifted, and
    with ``clip_border`` their boxes and landmarks clipped to the crop.

    The reference loops forever on an image without faces: such an image
    gets one crop (scale and corner drawn as above) and serves as a
    negative; after ``max_scale_retries`` failed scales (never seen on
    WIDER Face) the image is padded to a square instead, boxes unchanged
    (``results['square_padded']``).

    The draws use numpy's global RNG in the reference's order (scale, then
    left and top per try), so one seed gives the fork's crops.

    Reads ``img`` and, when present, ``gt_bboxes`` / ``gt_bboxes_labels`` /
    ``gt_ignore_flags``, and writes them back with ``img_shape``,
    ``square_padded``, ``square_content_shape`` and ``homography_matrix``.

    Args:
        crop_choice (Sequence[float]): Scales of the short side. Defaults to
            the reference's (0.3, 0.45, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8,
            2.0).
        clip_border (bool): Clip boxes and landmarks to the crop (the
            reference's ``bbox_clip_border``: True for SCRFD-500M/1G, False
            for 2.5G/10G/34G). Defaults to True.
        max_tries (int): Corners tried per scale. Defaults to 250.
        max_scale_retries (int): Scales tried before padding. Defaults to
            100.
        pad_val (float): Fill outside the image. Defaults to 128.
    """

    def __init__(self,
                 crop_choice: Sequence[float] = (0.3, 0.45, 0.6, 0.8, 1.0, 1.2,
                                                 1.4, 1.6, 1.8, 2.0),
                 clip_border: bool = True,
                 max_tries: int = 250,
                 max_scale_retries: int = 100,
                 pad_val: float = 128) -> None:
        if not crop_choice or not all(s > 0 for s in crop_choice):
            raise ValueError(f'crop_choice must be positive scales, got '
                             f'{crop_choice}')
        self.crop_choice = tuple(float(s) for s in crop_choice)
        self.clip_border = clip_border
        self.max_tries = int(max_tries)
        self.max_scale_retries = int(max_scale_retries)
        self.pad_val = (float(pad_val), ) * 3

    @staticmethod
    def _corner(size: int, side: int) -> int:
        """One coordinate of the crop's corner, drawn as the reference does.

        Args:
            size (int): Image width or height.
            side (int): Crop side.

        Returns:
            int: Uniform in ``[0, size - side)`` for a smaller crop,
            ``[size - side, 0)`` for a larger one, 0 when they are equal.
        """
        if size == side:
            return 0
        if size > side:
            return int(np.random.randint(0, size - side))
        return int(np.random.randint(size - side, 0))

    def _draw(self, height: int, width: int,
              scale: float) -> Tuple[int, int, int]:
        """Draw a crop of ``scale`` times the short side.

        Returns:
            tuple[int, int, int]: ``(left, top, side)``.
        """
        side = max(int(scale * min(width, height)), 1)
        return self._corner(width, side), self._corner(height, side), side

    def _scale(self) -> float:
        """Draw a scale from ``crop_choice`` (numpy's global RNG)."""
        return float(np.random.choice(self.crop_choice))

    def transform(self, results: dict) -> dict:
        """Crop ``results`` around a random non-ignored face centre.

        Args:
            results (dict): Result dict with ``img`` and, optionally, the
                ground-truth boxes, labels and ignore flags.

        Returns:
            dict: The cropped (or square-padded) results.
        """
        img = results['img']
        height, width = img.shape[:2]
        boxes = results.get('gt_bboxes')
        centers = None
        valid = np.zeros(0, dtype=bool)
        if boxes is not None and len(boxes):
            b = boxes.tensor.numpy().astype(np.float64)
            centers = (b[:, :2] + b[:, 2:]) / 2
            ignore = results.get('gt_ignore_flags')
            valid = np.ones(len(b), dtype=bool) if ignore is None else \
                ~np.asarray(ignore, dtype=bool)
        if not valid.any():
            return self._crop(results, *self._draw(height, width,
                                                   self._scale()), centers)
        grow = max(self.crop_choice) <= 1.0
        scale = self._scale()
        for retry in range(self.max_scale_retries):
            if retry > 0:
                scale = scale * 1.2 if grow else self._scale()
            for _ in range(self.max_tries):
                left, top, side = self._draw(height, width, scale)
                inside = self._inside(centers, left, top, side)
                if (inside & valid).any():
                    return self._crop(results, left, top, side, centers)
        return self._pad_to_square(results)

    @staticmethod
    def _inside(centers: np.ndarray, left: int, top: int,
                side: int) -> np.ndarray:
        """Which centres lie strictly inside the crop.

        Returns:
            np.ndarray: Bool mask, one per centre.
        """
        roi = np.array([left, top, left + side, top + side], dtype=np.float64)
        return ((roi[:2] < centers) & (centers < roi[2:])).all(axis=1)

    def _crop(self, results: dict, left: int, top: int, side: int,
              centers: Optional[np.ndarray]) -> dict:
        """Cut the ``side x side`` crop at ``(left, top)`` and keep its faces.

        Args:
            results (dict): Result dict to update in place.
            left (int): Crop left (may be negative).
            top (int): Crop top (may be negative).
            side (int): Crop side.
            centers (np.ndarray, optional): Face centres ``(N, 2)``; None
                when the image has no boxes.

        Returns:
            dict: ``results`` with the crop, its faces and homography.
        """
        img = results['img']
        height, width = img.shape[:2]
        out = np.empty((side, side) + img.shape[2:], dtype=img.dtype)
        out[...] = self.pad_val[0]
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + side, width), min(top + side, height)
        if x1 > x0 and y1 > y0:
            out[y0 - top:y1 - top, x0 - left:x1 - left] = img[y0:y1, x0:x1]
        results['img'] = out
        results['img_shape'] = out.shape[:2]
        results['square_padded'] = False
        results['square_content_shape'] = out.shape[:2]
        self._record_homography(results, left, top)
        if centers is None:
            return results
        return self._keep_and_shift(results,
                                    self._inside(centers, left, top,
                                                 side), left, top, side,
                                    self.clip_border, self.clip_border)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_choice={self.crop_choice}, '
                f'clip_border={self.clip_border}, '
                f'max_tries={self.max_tries}, '
                f'max_scale_retries={self.max_scale_retries}, '
                f'pad_val={self.pad_val[0]})')


__all__ = ['SCRFDRandomSquareCrop']
