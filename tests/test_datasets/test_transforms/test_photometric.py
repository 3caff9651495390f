import cv2
import numpy as np
from mmdet.registry import TRANSFORMS

import mmdet_faces  # noqa: F401  (registers the transforms)


class NumpyAsPythonRandom:
    """The reference's ``random`` calls mapped onto numpy's global RNG."""

    @staticmethod
    def randrange(n):
        return np.random.randint(n)

    @staticmethod
    def uniform(a, b):
        return np.random.uniform(a, b)

    @staticmethod
    def randint(a, b):  # inclusive, like random.randint
        return np.random.randint(a, b + 1)


def reference_distort(image, random=NumpyAsPythonRandom):
    """biubug6 data_augment._distort, verbatim but for the RNG object."""

    def _convert(image, alpha=1, beta=0):
        tmp = image.astype(float) * alpha + beta
        tmp[tmp < 0] = 0
        tmp[tmp > 255] = 255
        image[:] = tmp

    image = image.copy()
    if random.randrange(2):
        if random.randrange(2):
            _convert(image, beta=random.uniform(-32, 32))
        if random.randrange(2):
            _convert(image, alpha=random.uniform(0.5, 1.5))
        image = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        if random.randrange(2):
            _convert(image[:, :, 1], alpha=random.uniform(0.5, 1.5))
        if random.randrange(2):
            tmp = image[:, :, 0].astype(int) + random.randint(-18, 18)
            tmp %= 180
            image[:, :, 0] = tmp
        image = cv2.cvtColor(image, cv2.COLOR_HSV2BGR)
    else:
        if random.randrange(2):
            _convert(image, beta=random.uniform(-32, 32))
        image = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        if random.randrange(2):
            _convert(image[:, :, 1], alpha=random.uniform(0.5, 1.5))
        if random.randrange(2):
            tmp = image[:, :, 0].astype(int) + random.randint(-18, 18)
            tmp %= 180
            image[:, :, 0] = tmp
        image = cv2.cvtColor(image, cv2.COLOR_HSV2BGR)
        if random.randrange(2):
            _convert(image, alpha=random.uniform(0.5, 1.5))
    return image


def test_matches_reference_distort():
    t = TRANSFORMS.build(dict(type='FacePhotoMetricDistortion'))
    rng = np.random.RandomState(0)
    for seed in range(40):
        img = rng.randint(0, 256, (16, 24, 3)).astype(np.uint8)
        np.random.seed(seed)
        expected = reference_distort(img)
        np.random.seed(seed)
        out = t(dict(img=img.copy()))['img']
        assert out.dtype == np.uint8
        assert np.array_equal(out, expected), seed


def test_hand_computed(monkeypatch):
    # contrast first; brightness +10.7; contrast x1.5; no saturation / hue
    flags = iter([1, 1, 1, 0, 0])
    values = iter([10.7, 1.5])
    monkeypatch.setattr(np.random, 'randint', lambda *a: next(flags))
    monkeypatch.setattr(np.random, 'uniform', lambda *a: next(values))
    gray = np.array([[0, 100, 250]], dtype=np.uint8)[..., None].repeat(3, 2)
    out = TRANSFORMS.build(dict(type='FacePhotoMetricDistortion'))(
        dict(img=gray))['img']
    # 0 -> 10 (truncated) -> 15; 100 -> 110 -> 165; 250 -> 255 -> 255
    assert out[0, :, 0].tolist() == [15, 165, 255]


def test_padded_area_untouched():
    img = np.full((20, 20, 3), (104, 117, 123), dtype=np.uint8)
    img[:10, :15] = 200
    t = TRANSFORMS.build(dict(type='FacePhotoMetricDistortion'))
    for seed in range(10):
        np.random.seed(seed)
        out = t(
            dict(
                img=img.copy(),
                square_padded=True,
                square_content_shape=(10, 15)))['img']
        assert (out[10:] == img[10:]).all()
        assert (out[:, 15:] == img[:, 15:]).all()


def test_matches_reference_on_every_value_and_odd_layouts():
    """Every uint8 value in every channel, a non-contiguous input and a
    padded one: the lookup tables give the reference's bytes."""
    rng = np.random.RandomState(1)
    values = np.stack([rng.permutation(256) for _ in range(3)], -1)
    img = np.tile(values.reshape(16, 16, 3), (2, 3, 1)).astype(np.uint8)
    t = TRANSFORMS.build(dict(type='FacePhotoMetricDistortion'))
    for seed in range(100):
        np.random.seed(seed)
        expected = reference_distort(img)
        np.random.seed(seed)
        assert np.array_equal(t(dict(img=img.copy()))['img'], expected), seed
        # a strided view (e.g. a crop of a larger image)
        big = np.zeros((40, 60, 3), np.uint8)
        big[4:36, 6:54] = img
        np.random.seed(seed)
        out = t(dict(img=big[4:36, 6:54]))['img']
        assert np.array_equal(out, expected), seed
        # the real content of a padded square
        padded = np.full((48, 48, 3), 7, np.uint8)
        padded[:32, :48] = img
        np.random.seed(seed)
        out = t(
            dict(
                img=padded, square_padded=True,
                square_content_shape=(32, 48)))['img']
        assert np.array_equal(out[:32], expected), seed
        assert (out[32:] == 7).all()
