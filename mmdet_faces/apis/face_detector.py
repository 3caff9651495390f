"""A face detector object for applications: config + checkpoint in, numpy
boxes, scores and landmarks out (a front of :class:`FaceInferencer`)."""
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config

from .face_inferencer import (_NONE_HINT, FaceDetections, FaceInferencer,
                              ImageInput, TestScale)

__all__ = ['FaceDetector']


class FaceDetector:
    """Detect faces with an mmdet_faces model in a few lines.

    Example::

        det = FaceDetector(
            'configs/retinaface/retinaface_mnet025_1xb32-250e_widerface.py',
            'retinaface_mnet025.pth', score_thr=0.5)
        faces = det('photo.jpg')          # one FaceDetections
        for box, score, kpts in zip(faces.bboxes, faces.scores,
                                    faces.keypoints): ...
        batch = det([img0, img1, 'x.jpg'])  # list of FaceDetections

    A thin front of :class:`FaceInferencer` (mmdet's ``DetInferencer`` for
    faces, in :attr:`inferencer`): the model is built as mmdet's
    ``init_detector`` builds it (class names from the checkpoint's meta,
    else ``('face',)``) and every image goes through the config's test
    pipeline (resize as ``test_scale`` says), the model's data
    preprocessor and ``model.test_step`` -- the path of ``tools/test.py``
    -- so results equal the test loop's for the same images and test
    settings.

    Batching: with ``pad_mixed_sizes=False`` (default) only consecutive
    images of the same (resized) size share a batch; an image of another
    size starts a new one, so every image sees exactly the input it would
    see alone (as in the configs' batch-1 test). With
    ``pad_mixed_sizes=True`` images of different sizes are padded to a
    common size in one batch (mmdet's batched test); faster on many small
    mixed images, but padding changes the features near the right/bottom
    border of the smaller images, so their results can differ slightly
    from batch 1 there.

    Args:
        config (str | Path | Config): Model config file or object.
        checkpoint (str, optional): mmdet checkpoint, or a reference
            checkpoint converted by ``tools/model_converters/*``, loaded as
            weights only (``mmcv_patches.safe_load``); None: random weights,
            with a warning.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'`` ... Defaults to
            ``'cpu'``.
        test_scale (str | int | float | tuple, optional): see
            :func:`make_test_pipeline_cfg`; None keeps the config's.
        score_thr (float, optional): Score threshold of the detections
            (``model.test_cfg.score_thr``), in [0, 1]; None keeps the
            config's.
        batch_size (int): Images per forward pass. Defaults to 1.
        pad_mixed_sizes (bool): Pad images of different sizes into one
            batch (see above). Defaults to False.
        amp (bool): Run the network under ``torch.autocast`` (float16 on
            CUDA, bfloat16 on CPU); box decoding and NMS stay float32.
            Defaults to False.
        channels_last (bool): Convert the model and its inputs to
            channels-last memory format. Defaults to False.
        cfg_options (dict, optional): Config overrides (as
            ``--cfg-options``).
    """

    def __init__(self,
                 config: Union[str, Path, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 test_scale: TestScale = None,
                 score_thr: Optional[float] = None,
                 batch_size: int = 1,
                 pad_mixed_sizes: bool = False,
                 amp: bool = False,
                 channels_last: bool = False,
                 cfg_options: Optional[dict] = None) -> None:
        if isinstance(
                batch_size,
                bool) or not isinstance(batch_size,
                                        (int, np.integer)) or batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.batch_size = int(batch_size)
        self.inferencer = FaceInferencer(
            config,
            checkpoint,
            device=device,
            show_progress=False,
            test_scale=test_scale,
            score_thr=score_thr,
            pad_mixed_sizes=pad_mixed_sizes,
            amp=amp,
            channels_last=channels_last,
            cfg_options=cfg_options)
        self._visualizer = None

    # the inferencer's settings, read-only
    cfg = property(lambda self: self.inferencer.cfg, doc='The config.')
    model = property(lambda self: self.inferencer.model, doc='The model.')
    device = property(
        lambda self: self.inferencer.device, doc='The device (torch.device).')
    test_scale = property(lambda self: self.inferencer.test_scale)
    pad_mixed_sizes = property(lambda self: self.inferencer.pad_mixed_sizes)
    amp = property(lambda self: self.inferencer.amp)
    channels_last = property(lambda self: self.inferencer.channels_last)
    with_keypoints = property(
        lambda self: bool(self.inferencer.num_points),
        doc='Whether the model predicts landmarks.')

    def _autocast(self):
        """The inferencer's autocast context (see ``amp``)."""
        return self.inferencer.autocast()

    @staticmethod
    def _as_list(imgs: Any) -> list:
        """``imgs`` as a list, or a TypeError saying what is accepted."""
        if imgs is None or isinstance(
                imgs, (bool, bytes)) or not isinstance(imgs, Iterable):
            raise TypeError(
                'images must be a file path, an H x W x 3 BGR numpy array or '
                f'a list of them, got {type(imgs).__name__}' + _NONE_HINT *
                (imgs is None))
        return list(imgs)

    def predict_samples(self, imgs: Sequence[ImageInput]) -> list:
        """Detect faces and return mmdet ``DetDataSample`` s (tensors on the
        device), in input order, as ``model.test_step`` gives them."""
        return self.inferencer.predict_samples(
            self._as_list(imgs), self.batch_size)

    def __call__(
        self, imgs: Union[ImageInput, Sequence[ImageInput]]
    ) -> Union[FaceDetections, List[FaceDetections]]:
        """Detect faces.

        Args:
            imgs (str | Path | np.ndarray | list): An image path, an
                H x W x 3 BGR uint8 (or float32) array, or a list of them
                (sizes may differ).

        Returns:
            FaceDetections | list[FaceDetections]: One per image (a single
            one for a single input), in original-image coordinates.
        """
        single = isinstance(imgs, (str, Path, np.ndarray))
        items = [imgs] if single else self._as_list(imgs)
        results = self.inferencer.to_detections(self.predict_samples(items))
        return results[0] if single else results

    # ------------------------------------------------------------ drawing
    @property
    def visualizer(self):
        """A :class:`FaceLocalVisualizer` (built on first use)."""
        if self._visualizer is None:
            from mmdet.registry import VISUALIZERS
            self._visualizer = VISUALIZERS.build(
                dict(
                    type='FaceLocalVisualizer',
                    name=f'face_detector_{id(self)}_{os.getpid()}',
                    draw_labels=True))
            self._visualizer.dataset_meta = dict(self.model.dataset_meta)
        return self._visualizer

    def draw(self,
             img: np.ndarray,
             result: FaceDetections,
             score_thr: float = 0.5,
             draw_scores: bool = True) -> np.ndarray:
        """Draw boxes, scores and landmarks of ``result`` on a copy of
        ``img``.

        Args:
            img (np.ndarray): The BGR image the result belongs to.
            result (FaceDetections): Its detections.
            score_thr (float): Draw faces scoring above this. Defaults to
                0.5.
            draw_scores (bool): Write ``face: 98.1`` above each box.

        Returns:
            np.ndarray: Annotated BGR uint8 image.
        """
        from mmdet.structures import DetDataSample
        vis = self.visualizer
        vis.draw_labels = draw_scores
        inst = result.to_instance_data()
        inst = inst[inst.scores > score_thr]
        # shapes outside the image would widen the matplotlib axes (the
        # image then shrinks in the drawing): clip boxes, hide such points
        h, w = img.shape[:2]
        inst.bboxes[:, 0::2] = inst.bboxes[:, 0::2].clamp(0, w)
        inst.bboxes[:, 1::2] = inst.bboxes[:, 1::2].clamp(0, h)
        if 'keypoints' in inst:
            k = inst.keypoints
            inst.keypoints_visible = ((k[..., 0] >= 0) & (k[..., 0] <= w) &
                                      (k[..., 1] >= 0) &
                                      (k[..., 1] <= h)).float()
        sample = DetDataSample(pred_instances=inst)
        rgb = np.ascontiguousarray(img[..., ::-1])
        if rgb.dtype != np.uint8:
            rgb = np.clip(rgb, 0, 255).astype(np.uint8)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # "bbox is out of bounds"
            vis.add_datasample(
                'face',
                rgb,
                sample,
                draw_gt=False,
                show=False,
                pred_score_thr=score_thr)
        return np.ascontiguousarray(vis.get_image()[..., ::-1])
