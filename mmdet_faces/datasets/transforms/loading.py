"""Loading of face annotations and of images that may be missing/corrupt."""
import logging
from typing import Optional

import mmcv
import numpy as np
import torch
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmengine import fileio
from mmengine.logging import print_log

from mmdet_faces.structures import FACE_FLIP_INDICES, BBoxKeypoints
from mmdet_faces.utils import passed_power_of_ten
from ..skipped_images import record_skipped_image
from ..wider_face_landmark import NUM_FACE_ANN_COLUMNS


@TRANSFORMS.register_module()
class LoadFaceAnnotations(LoadAnnotations):
    """Load the faces of a ``WIDERFaceLandmarkDataset`` data info.

    Reads ``results['face_anns']`` (see ``FACE_ANN_COLUMNS``) and adds
    ``gt_bboxes`` (``BBoxKeypoints`` with (N, 5, 2) ``keypoints`` and (N, 5)
    ``keypoints_visible``; plain ``HorizontalBoxes`` if
    ``box_type='hbox'``), ``gt_bboxes_labels`` (all 0) and
    ``gt_ignore_flags``.

    When the original image shape is known (``ori_shape``, set by the image
    loader: put this transform after it; test-time resizes before it are
    fine, annotations stay in original coordinates) boxes are clipped to the
    image and boxes that are zero-size after clipping (entirely outside the
    image, or degenerate) are dropped with a counted warning. Landmarks are
    not clipped.

    Args:
        with_bbox (bool): load boxes and ignore flags. Defaults to True.
        with_label (bool): load labels. Defaults to True.
        box_type (str): 'bbox_kpt' (default) or 'hbox'.
        clip_to_image (bool): clip/drop as above. Defaults to True.
    """

    num_dropped = 0  # class-level counter of out-of-image boxes

    def __init__(self,
                 with_bbox: bool = True,
                 with_label: bool = True,
                 box_type: str = 'bbox_kpt',
                 clip_to_image: bool = True,
                 **kwargs) -> None:
        if kwargs.get('with_mask') or kwargs.get('with_seg'):
            raise ValueError('LoadFaceAnnotations loads boxes and landmarks '
                             'only (with_mask / with_seg are not supported)')
        if box_type not in ('bbox_kpt', 'hbox'):
            raise ValueError(f"box_type must be 'bbox_kpt' or 'hbox', got "
                             f'{box_type!r}')
        super().__init__(
            with_bbox=with_bbox,
            with_label=with_label,
            box_type=box_type,
            **kwargs)
        self.clip_to_image = clip_to_image

    def transform(self, results: dict) -> dict:
        """Turn the ``face_anns`` rows into boxes, labels and ignore flags.

        Args:
            results (dict): Result dict with ``face_anns`` (``(N, 32)``, see
                ``NUM_FACE_ANN_COLUMNS``) and ``ori_shape``.

        Returns:
            dict: ``results`` with ``gt_bboxes``, ``gt_ignore_flags`` and
            ``gt_bboxes_labels``.
        """
        anns = results.get('face_anns')
        if anns is None:
            anns = np.zeros((0, NUM_FACE_ANN_COLUMNS), dtype=np.float32)
        anns = np.asarray(anns, dtype=np.float32)
        bboxes = anns[:, 0:4].copy()
        if self.clip_to_image and results.get('ori_shape') is not None \
                and len(anns):
            h, w = results['ori_shape'][:2]
            bboxes[:, 0::2] = bboxes[:, 0::2].clip(0, w)
            bboxes[:, 1::2] = bboxes[:, 1::2].clip(0, h)
            keep = (bboxes[:, 2] > bboxes[:, 0]) & (
                bboxes[:, 3] > bboxes[:, 1])
            if not keep.all():
                self._report_dropped(results, anns[~keep], (h, w))
                anns = anns[keep]
                bboxes = bboxes[keep]
        num = len(anns)
        if self.with_bbox:
            if self.box_type == 'bbox_kpt':
                results['gt_bboxes'] = BBoxKeypoints(
                    torch.from_numpy(bboxes),
                    torch.from_numpy(anns[:, 4:14].reshape(num, 5, 2)),
                    torch.from_numpy(anns[:, 14:19].copy()),
                    clone=False,
                    flip_indices=FACE_FLIP_INDICES)
            else:
                results['gt_bboxes'] = HorizontalBoxes(
                    torch.from_numpy(bboxes), clone=False)
            results['gt_ignore_flags'] = anns[:, 24] > 0
        if self.with_label:
            results['gt_bboxes_labels'] = np.zeros(num, dtype=np.int64)
        return results

    @classmethod
    def _report_dropped(cls, results: dict, dropped: np.ndarray,
                        shape) -> None:
        """Count boxes dropped by clipping; warn at 1, 10, 100, ... of them.

        Args:
            results (dict): The image's results, for its path.
            dropped (np.ndarray): The dropped annotation rows.
            shape (tuple[int, int]): The image's ``(h, w)``.
        """
        before = cls.num_dropped
        cls.num_dropped += len(dropped)
        if passed_power_of_ten(before, cls.num_dropped):
            lines = ', '.join(str(int(v)) for v in dropped[:3, 31])
            print_log(
                f'LoadFaceAnnotations: dropped {cls.num_dropped} boxes so '
                'far that lie outside their image or are zero-size after '
                f'clipping (latest: {results.get("img_path")} of size '
                f'{shape[1]}x{shape[0]}, annotation line(s) {lines})',
                logger='current',
                level=logging.WARNING)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(with_bbox={self.with_bbox}, '
                f'with_label={self.with_label}, box_type={self.box_type!r}, '
                f'clip_to_image={self.clip_to_image})')


@TRANSFORMS.register_module()
class LoadFaceImage(LoadImageFromFile):
    """``LoadImageFromFile`` that handles missing and corrupt files.

    With ``ignore_empty=True`` (training) a missing, empty or undecodable
    file gives ``None`` (mmengine's dataset then draws another image) and a
    counted warning (logged at 1, 10, 100, ... skipped images of a process);
    the skip is recorded for ``SkippedImagesHook``, which names every
    skipped image at the end of each epoch. mmcv's own loader raises an
    ``AssertionError`` for undecodable files even then.
    With ``ignore_empty=False`` (testing) it raises ``FileNotFoundError`` or
    ``ValueError`` naming the path.

    Args: as ``mmcv.transforms.LoadImageFromFile``.
    """

    num_skipped = 0

    def transform(self, results: dict) -> Optional[dict]:
        """Read ``results['img_path']``.

        Args:
            results (dict): Result dict with ``img_path``.

        Returns:
            dict | None: ``results`` with ``img``, ``img_shape`` and
            ``ori_shape``; None for an unreadable file with ``ignore_empty``.
        """
        filename = results['img_path']
        try:
            img = read_image(filename, self.backend_args, self.color_type,
                             self.imdecode_backend)
        except (OSError, ValueError) as e:
            if not self.ignore_empty:
                raise
            self._report_skipped(filename, e)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    @classmethod
    def _report_skipped(cls, filename: str, err: Exception) -> None:
        """Record a skipped image; warn at 1, 10, 100, ... of them."""
        record_skipped_image(filename, str(err))
        cls.num_skipped += 1
        if passed_power_of_ten(cls.num_skipped - 1, cls.num_skipped):
            print_log(
                f'LoadFaceImage: skipped {cls.num_skipped} unreadable '
                f'image(s) so far; latest: {err}',
                logger='current',
                level=logging.WARNING)


def read_image(filename: str,
               backend_args: Optional[dict] = None,
               color_type: str = 'color',
               imdecode_backend: str = 'cv2') -> np.ndarray:
    """Read and decode an image file as :class:`LoadFaceImage` does.

    Args:
        filename (str): Image path.
        backend_args (dict, optional): mmengine file backend arguments.
        color_type (str): ``mmcv.imfrombytes`` flag. Defaults to 'color'.
        imdecode_backend (str): Decoding backend. Defaults to 'cv2'.

    Returns:
        np.ndarray: The image.

    Raises:
        FileNotFoundError: ``image file not found: <path>``.
        ValueError: the file is empty or cannot be decoded (named).
    """
    try:
        img_bytes = fileio.get(filename, backend_args=backend_args)
    except FileNotFoundError:
        raise FileNotFoundError(f'image file not found: {filename}') from None
    if not img_bytes:
        raise ValueError(f'image file is empty: {filename}')
    try:
        img = mmcv.imfrombytes(
            img_bytes, flag=color_type, backend=imdecode_backend)
    except Exception as e:
        raise ValueError(f'cannot decode image file {filename} '
                         f'(corrupt or not an image): {e}') from e
    if img is None:
        raise ValueError(f'cannot decode image file {filename} '
                         '(corrupt or not an image)')
    return img


__all__ = ['LoadFaceAnnotations', 'LoadFaceImage', 'read_image']
