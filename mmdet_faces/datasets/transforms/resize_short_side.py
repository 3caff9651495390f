"""Test-time resize of RetinaFace's "same as MXNet" scale."""
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from .utils import compose_homography


@TRANSFORMS.register_module()
class ResizeShortSide(BaseTransform):
    """Scale the short side to ``short_side``, long side <= ``max_long_side``.

    Exactly as biubug6 ``test_widerface.py``: ``scale = short_side / short``;
    if ``round(scale * long) > max_long_side`` then
    ``scale = max_long_side / long``; the image is converted to float32 and
    resized with ``cv2.resize(img, None, fx=scale, fy=scale,
    INTER_LINEAR)``. ``scale_factor`` is ``(scale, scale)`` (the reference
    divides boxes by ``scale``). With ``short_side=None`` (default) it is a
    no-op that only makes sure ``scale_factor`` and ``img_shape`` exist, so
    a config can switch it on with ``--cfg-options``. A side that would
    round to 0 px is kept at 1 px (``scale_factor`` then per axis).

    Args:
        short_side (int, optional): target short side (1600 in the
            reference). Defaults to None (no-op).
        max_long_side (int, optional): cap of the long side (2150).
            Defaults to None (no cap).
        to_float32 (bool): resize a float32 copy like the reference, no
            rounding to uint8. Defaults to True.
    """

    def __init__(self,
                 short_side: Optional[int] = None,
                 max_long_side: Optional[int] = None,
                 to_float32: bool = True) -> None:
        self.short_side = short_side
        self.max_long_side = max_long_side
        self.to_float32 = to_float32

    def get_scale(self, height: int, width: int) -> float:
        """The reference's ``resize`` for an image of (height, width)."""
        if self.short_side is None:
            return 1.0
        scale = float(self.short_side) / float(min(height, width))
        if self.max_long_side is not None and np.round(
                scale * max(height, width)) > self.max_long_side:
            scale = float(self.max_long_side) / float(max(height, width))
        return scale

    def transform(self, results: dict) -> dict:
        """Resize ``img`` (and boxes) by :meth:`get_scale`.

        Returns:
            dict: ``results`` with the resized image, ``scale_factor``,
            ``img_shape`` and the composed ``homography_matrix``.
        """
        img = results['img']
        h, w = img.shape[:2]
        scale = self.get_scale(h, w)
        sx = sy = scale
        if scale != 1.0:
            if self.to_float32:
                img = img.astype(np.float32)
            if min(np.round(h * scale), np.round(w * scale)) < 1:
                # a side would round to 0 px (cv2: !dsize.empty()): keep
                # at least 1 px, with the per-axis scales it gives
                size = (max(1, int(np.round(w * scale))),
                        max(1, int(np.round(h * scale))))
                sx, sy = size[0] / w, size[1] / h
                img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
            else:
                img = cv2.resize(
                    img,
                    None,
                    None,
                    fx=scale,
                    fy=scale,
                    interpolation=cv2.INTER_LINEAR)
            results['img'] = img
            if results.get('gt_bboxes') is not None:
                results['gt_bboxes'].rescale_((sx, sy))
            matrix = np.array([[sx, 0, 0], [0, sy, 0], [0, 0, 1]],
                              dtype=np.float32)
            compose_homography(results, matrix)
        old = results.get('scale_factor', (1.0, 1.0))
        results['scale_factor'] = (old[0] * sx, old[1] * sy)
        results['img_shape'] = img.shape[:2]
        results['keep_ratio'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(short_side={self.short_side}, '
                f'max_long_side={self.max_long_side}, '
                f'to_float32={self.to_float32})')


__all__ = ['ResizeShortSide']
