"""Photometric distortion exactly as the RetinaFace reference (``_distort``).
"""
import cv2
import numpy as np
from mmdet.datasets.transforms import PhotoMetricDistortion
from mmdet.registry import TRANSFORMS

_IDENTITY = np.arange(256, dtype=np.uint8)


def _convert_table(alpha: float = 1, beta: float = 0) -> np.ndarray:
    """The reference ``_convert`` as a 256-entry lookup table:
    ``clip(v * alpha + beta, 0, 255)`` truncated to uint8, computed in
    float64 as the reference does per pixel (so a LUT gives the same
    bytes)."""
    tmp = np.arange(256, dtype=float) * alpha + beta
    tmp[tmp < 0] = 0
    tmp[tmp > 255] = 255
    return tmp.astype(np.uint8)


@TRANSFORMS.register_module()
class FacePhotoMetricDistortion(PhotoMetricDistortion):
    """Brightness, contrast, saturation and hue jitter of the reference.

    mmdet's ``PhotoMetricDistortion`` differs from the reference: it also
    swaps colour channels at random (half of the images), works on float32
    without clipping to [0, 255], and its ``hue_delta`` is in degrees (0-360)
    while the reference adds ``randint(-18, 18)`` to OpenCV's 8-bit hue
    (0-180, i.e. up to 36 degrees). This transform reproduces the reference
    on uint8 BGR images, each step applied with probability 0.5 and the
    contrast step first or last with probability 0.5, clipping after every
    step. Random numbers come from numpy's global RNG.

    If ``RandomSquareCrop`` padded the image (``results['square_padded']``)
    only the real content (``square_content_shape``) is distorted, as the
    reference pads after distorting.

    Args:
        brightness_delta (int): max brightness shift. Defaults to 32.
        contrast_range (tuple): contrast factor range. Defaults to (0.5, 1.5).
        saturation_range (tuple): saturation factor range.
            Defaults to (0.5, 1.5).
        hue_delta (int): max hue shift in OpenCV 8-bit units (180 = full
            circle). Defaults to 18.
    """

    def transform(self, results: dict) -> dict:
        """Distort the image's content (not a square crop's padding)."""
        img = results['img']
        if img.dtype != np.uint8:
            img = np.clip(img, 0, 255).astype(np.uint8)
        h, w = img.shape[:2]
        if results.get('square_padded'):
            h, w = results.get('square_content_shape', (h, w))
        if (h, w) == img.shape[:2]:
            results['img'] = self._distort(img)
        else:
            out = img.copy()
            out[:h, :w] = self._distort(img[:h, :w])
            results['img'] = out
        return results

    def _distort(self, image: np.ndarray) -> np.ndarray:
        """The reference steps, in its order and with its random draws;
        each pixel-wise step is a lookup table (consecutive ones composed),
        which gives the reference's bytes ~3x faster than its float
        arithmetic on whole images."""
        rand = np.random
        contrast_first = rand.randint(2)
        bgr_table = None  # steps before the HSV conversion
        if rand.randint(2):
            bgr_table = _convert_table(
                beta=rand.uniform(-self.brightness_delta,
                                  self.brightness_delta))
        if contrast_first and rand.randint(2):
            contrast = _convert_table(
                alpha=rand.uniform(self.contrast_lower, self.contrast_upper))
            bgr_table = contrast if bgr_table is None \
                else contrast[bgr_table]
        if bgr_table is not None:
            image = cv2.LUT(np.ascontiguousarray(image), bgr_table)
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2HSV)
        hue, saturation = _IDENTITY, _IDENTITY
        if rand.randint(2):
            saturation = _convert_table(
                alpha=rand.uniform(self.saturation_lower,
                                   self.saturation_upper))
        if rand.randint(2):
            shift = rand.randint(-self.hue_delta, self.hue_delta + 1)
            hue = ((np.arange(256) + shift) % 180).astype(np.uint8)
        if hue is not _IDENTITY or saturation is not _IDENTITY:
            image = cv2.LUT(
                image,
                np.stack([hue, saturation, _IDENTITY], axis=-1)[None])
        image = cv2.cvtColor(image, cv2.COLOR_HSV2BGR)
        if not contrast_first and rand.randint(2):
            image = cv2.LUT(
                image,
                _convert_table(
                    alpha=rand.uniform(self.contrast_lower,
                                       self.contrast_upper)))
        return image


__all__ = ['FacePhotoMetricDistortion']
