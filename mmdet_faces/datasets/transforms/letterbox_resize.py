"""Test-time letterbox resize of bubbliiiing/retinaface-pytorch."""
from typing import Sequence, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from .utils import compose_homography

__all__ = ['LetterboxResize']


@TRANSFORMS.register_module()
class LetterboxResize(BaseTransform):
    """Resize into a fixed canvas keeping the aspect ratio, centred.

    Exactly as bubbliiiing/retinaface-pytorch ``letterbox_image`` and
    ``retinaface_correct_boxes``: ``scale = min(W / w, H / h)``; the image
    (as float32, no rounding to uint8) is resized with ``cv2.resize`` to
    ``(int(w * scale), int(h * scale))`` (bilinear) and pasted at
    ``((W - nw) // 2, (H - nh) // 2)`` on a canvas of ``pad_val``.
    Detections go back to the image the way the reference maps them, with
    the unrounded size: ``x = (x_canvas - (W - w * scale) / 2) / scale``;
    this is recorded as ``scale_factor = (scale, scale)`` and
    ``border = (top, top + h * scale, left, left + w * scale)`` (mmdet's
    ``RandomCenterCropPad`` convention, which :class:`RetinaFaceHead`
    subtracts before rescaling). Add ``'border'`` to the ``meta_keys`` of
    ``PackFaceInputs``.

    Args:
        size (Sequence[int]): Canvas ``(W, H)``. Defaults to (1280, 1280),
            the reference ``input_shape``.
        pad_val (float | Sequence[float]): Canvas value. Defaults to 128
            (the reference's grey).
        to_float32 (bool): Resize a float32 copy like the reference.
            Defaults to True.
    """

    def __init__(self,
                 size: Sequence[int] = (1280, 1280),
                 pad_val: Union[float, Sequence[float]] = 128.,
                 to_float32: bool = True) -> None:
        assert len(size) == 2 and min(size) > 0, f'bad size {size}'
        self.size = (int(size[0]), int(size[1]))
        self.pad_val = pad_val
        self.to_float32 = to_float32

    def transform(self, results: dict) -> dict:
        """Letterbox ``img`` (and boxes) into the ``size`` canvas.

        Returns:
            dict: ``results`` with the canvas, ``scale_factor``, ``border``
            (content top, bottom, left, right) and ``homography_matrix``.
        """
        img = results['img']
        h, w = img.shape[:2]
        cw, ch = self.size
        scale = min(cw / w, ch / h)
        nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
        if self.to_float32:
            img = img.astype(np.float32)
        resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        if resized.ndim == 2:
            resized = resized[..., None]
        canvas = np.empty((ch, cw) + resized.shape[2:], dtype=resized.dtype)
        canvas[...] = self.pad_val
        top, left = (ch - nh) // 2, (cw - nw) // 2
        canvas[top:top + nh, left:left + nw] = resized
        if img.ndim == 2:
            canvas = canvas[..., 0]
        # the reference maps back with the unrounded size
        off_y, off_x = (ch - h * scale) / 2, (cw - w * scale) / 2
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].rescale_((scale, scale))
            results['gt_bboxes'].translate_((off_x, off_y))
        compose_homography(
            results,
            np.array([[scale, 0, off_x], [0, scale, off_y], [0, 0, 1]],
                     dtype=np.float32))
        old = results.get('scale_factor', (1.0, 1.0))
        results['img'] = canvas
        results['img_shape'] = canvas.shape[:2]
        results['scale_factor'] = (old[0] * scale, old[1] * scale)
        results['border'] = (off_y, off_y + h * scale, off_x,
                             off_x + w * scale)
        results['keep_ratio'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'pad_val={self.pad_val}, to_float32={self.to_float32})')
