"""A face detector object for applications: config + checkpoint in, numpy
boxes, scores and landmarks out."""
import copy
import os
import os.path as osp
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Any, Dict, Iterable, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.registry import MODELS
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from mmcv_patches.checkpoint import safe_load

__all__ = [
    'FaceDetector', 'FaceDetections', 'make_test_pipeline_cfg', 'TestScale',
    'ImageInput'
]

ImageInput = Union[str, Path, np.ndarray]
TestScale = Optional[Union[str, int, float, Tuple[int, Optional[int]]]]

FACE_META = {'classes': ('face', ), 'palette': [(0, 255, 0)]}
# test-pipeline steps that only load annotations (not needed to detect)
_ANN_LOADERS = ('LoadAnnotations', 'LoadFaceAnnotations')
# key prefixes of reference (non-mmdet) checkpoints, to give a clear error
_REFERENCE_KEYS = {
    # biubug6 / bubbliiiing, yakhyo (fx., class_head.class_head.), MindSpore
    'retinaface': ('body.', 'ClassHead.', 'BboxHead.', 'LandmarkHead.',
                   'fx.', 'class_head.', 'landmark_head.', 'base.',
                   'network.base.'),
    's3fd': ('vgg.', 'L2Norm3_3.', 'extras.', 'loc.', 'conf.'),
    # insightface's mmdet 2.x layout shares backbone. / bbox_head.
    'scrfd': ('bbox_head.cls_stride_convs.', 'bbox_head.stride_cls.'),
}
_NONE_HINT = ('; cv2.imread returns None for a file it cannot read: check '
              'its result')
_CONVERTERS = {
    'retinaface': 'tools/model_converters/retinaface_to_mmdet.py',
    's3fd': 'tools/model_converters/s3fd_to_mmdet.py',
    'scrfd': 'tools/model_converters/scrfd_to_mmdet.py',
}


@dataclass
class FaceDetections:
    """Faces found in one image, in original-image pixel coordinates.

    Attributes:
        bboxes (np.ndarray): (N, 4) float32 ``x1, y1, x2, y2``.
        scores (np.ndarray): (N, ) float32, in decreasing order.
        keypoints (np.ndarray, optional): (N, 5, 2) float32 ``x, y`` of left
            eye, right eye, nose, left and right mouth corner; None for a
            model without landmarks (S3FD).
        img_shape (tuple[int, int]): (height, width) of the input image.
    """

    bboxes: np.ndarray
    scores: np.ndarray
    keypoints: Optional[np.ndarray]
    img_shape: Tuple[int, int] = field(default=(0, 0))

    def __len__(self) -> int:
        return len(self.scores)

    def to_dict(self, ndigits: Optional[int] = 2) -> Dict[str, Any]:
        """JSON-friendly dict: ``boxes``, ``scores``, ``landmarks``
        (None without), ``height``, ``width``.

        Args:
            ndigits (int, optional): Round coordinates to this many digits
                (scores keep 5). None: no rounding.
        """

        def rnd(a: np.ndarray, n: Optional[int]) -> list:
            a = a.astype(np.float64)
            return (a if n is None else np.round(a, n)).tolist()

        return dict(
            height=int(self.img_shape[0]),
            width=int(self.img_shape[1]),
            boxes=rnd(self.bboxes, ndigits),
            scores=rnd(self.scores, None if ndigits is None else 5),
            landmarks=None if self.keypoints is None else rnd(
                self.keypoints, ndigits))

    def to_instance_data(self):
        """The detections as mmengine ``InstanceData`` (torch tensors,
        ``labels`` all 0), e.g. for :class:`FaceLocalVisualizer`."""
        from mmengine.structures import InstanceData
        inst = InstanceData()
        inst.bboxes = torch.from_numpy(self.bboxes).reshape(-1, 4)
        inst.scores = torch.from_numpy(self.scores)
        inst.labels = torch.zeros(len(self.scores), dtype=torch.long)
        if self.keypoints is not None:
            inst.keypoints = torch.from_numpy(self.keypoints)
        return inst


def _is_resize(step: dict) -> bool:
    return 'Resize' in str(step.get('type', '')).split('.')[-1]


def _type_name(step: dict) -> str:
    return str(step.get('type', '')).split('.')[-1]


def make_test_pipeline_cfg(cfg: Config,
                           test_scale: TestScale = None,
                           from_array: bool = False) -> List[dict]:
    """The config's test pipeline for inference.

    Annotation loaders are dropped (they do not touch the image), the first
    step becomes ``mmdet.LoadImageFromNDArray`` for in-memory images and the
    resize steps are replaced according to ``test_scale``.

    Args:
        cfg (Config): A full config (with ``test_dataloader``).
        test_scale (str | int | float | tuple, optional): None: the config's
            own test resize. ``'original'``: no resize. ``(short,
            max_long)``: short side to ``short``, long side at most
            ``max_long`` (None: no cap), the RetinaFace reference
            ``ResizeShortSide``; an int ``short`` is ``(short, None)``. A
            float: every image scaled by it (mmdet ``Resize`` with
            ``scale_factor``, keep ratio).
        from_array (bool): Images come as arrays, not paths.

    Returns:
        list[dict]: Transform configs.
    """
    steps = [
        copy.deepcopy(dict(s)) for s in get_test_pipeline_cfg(cfg)
        if _type_name(s) not in _ANN_LOADERS
    ]
    if not steps:
        raise ValueError('the config has an empty test pipeline')
    if from_array:
        steps[0] = dict(type='mmdet.LoadImageFromNDArray')
    if test_scale is None:
        return steps
    bad = ValueError("test_scale must be None, 'original', an int > 0, a "
                     'float > 0 or (short, max_long) with short an int > 0 '
                     f'and max_long None or an int > 0, got {test_scale!r}')

    def positive_int(v) -> int:
        if isinstance(v, bool) or not isinstance(
                v, (int, np.integer, float, np.floating)) or not v >= 1:
            raise bad
        return int(v)

    if isinstance(test_scale, str):
        if test_scale != 'original':
            raise ValueError("test_scale must be None, 'original', an int, "
                             'a float or (short, max_long), got '
                             f'{test_scale!r}')
        resize = dict(type='ResizeShortSide', short_side=None)
    elif isinstance(test_scale, bool):
        raise TypeError(f'invalid test_scale {test_scale!r}')
    elif isinstance(test_scale, (int, np.integer)):
        resize = dict(
            type='ResizeShortSide', short_side=positive_int(test_scale))
    elif isinstance(test_scale, (float, np.floating)):
        if not test_scale > 0:
            raise ValueError(f'test_scale must be > 0, got {test_scale}')
        resize = dict(
            type='Resize', scale_factor=float(test_scale), keep_ratio=True)
    elif isinstance(test_scale, (tuple, list)) and len(test_scale) == 2:
        short, max_long = test_scale
        resize = dict(
            type='ResizeShortSide',
            short_side=positive_int(short),
            max_long_side=None if max_long is None else positive_int(max_long))
    else:
        raise bad
    pos = next((i for i, s in enumerate(steps) if _is_resize(s)), 1)
    steps = [s for s in steps if not _is_resize(s)]
    steps.insert(pos, resize)
    return steps


def _with_hwc_inputs(steps: List[dict]) -> List[dict]:
    """``steps`` with ``PackFaceInputs(contiguous=False)``: the H x W x C
    image goes to the data preprocessor as a C x H x W view, without the
    CPU transpose copy (``FaceDetector`` makes the batch dense on the
    device)."""
    return [
        dict(s, contiguous=False) if _type_name(s) == 'PackFaceInputs' else s
        for s in steps
    ]


def _check_reference_keys(state_dict: dict, checkpoint: str) -> None:
    """Refuse an unconverted reference checkpoint, naming the converter."""
    keys = [k[len('module.'):] if k.startswith('module.') else k
            for k in state_dict]
    for arch, prefixes in _REFERENCE_KEYS.items():
        if any(k.startswith(prefixes) for k in keys):
            raise ValueError(
                f'{checkpoint} is a {arch} reference checkpoint, not an '
                f'mmdet one: convert it first with python '
                f'{_CONVERTERS[arch]} {checkpoint} OUT.pth')


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

    The model is built as mmdet's ``init_detector`` builds it (class names
    from the checkpoint's meta, else ``('face',)``) and every image goes
    through the config's test pipeline (resize as ``test_scale`` says), the
    model's data preprocessor and ``model.test_step`` -- the path of
    ``tools/test.py`` -- so results equal the test loop's for the same
    images and test settings.

    Batching: with ``pad_mixed_sizes=False`` (default) only images of the
    same (resized) size share a batch; the others run in batches of their
    own size, so every image sees exactly the input it would see alone
    (as in the configs' batch-1 test). With ``pad_mixed_sizes=True`` images
    of different sizes are padded to a common size in one batch (mmdet's
    batched test); faster on many small mixed images, but padding changes
    the features near the right/bottom border of the smaller images, so
    their results can differ slightly from batch 1 there.

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
        import mmdet_faces  # noqa: F401  (registers the models)
        if isinstance(config, (str, Path)):
            if not osp.isfile(str(config)):
                raise FileNotFoundError(f'config file not found: {config}')
            cfg = Config.fromfile(str(config))
        elif isinstance(config, Config):
            cfg = copy.deepcopy(config)
        else:
            raise TypeError(f'config must be a path or a Config, got '
                            f'{type(config)}')
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        # no pretrained backbone download when building for inference
        if 'init_cfg' in cfg.model.get('backbone', {}):
            cfg.model.backbone.init_cfg = None
        if score_thr is not None:
            if isinstance(score_thr, bool) or not isinstance(
                    score_thr, (int, float, np.integer, np.floating)) or \
                    not 0 <= score_thr <= 1:
                raise ValueError(
                    f'score_thr must be in [0, 1], got {score_thr!r}')
            cfg.model.test_cfg.score_thr = float(score_thr)
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.cfg = cfg
        self.batch_size = int(batch_size)
        self.pad_mixed_sizes = pad_mixed_sizes
        self.test_scale = test_scale
        self.device = torch.device(device)
        self.amp = amp
        self.channels_last = channels_last

        # as mmdet's init_detector, without its COCO-classes fallback
        init_default_scope(cfg.get('default_scope', 'mmdet'))
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        model.cfg = cfg
        model.dataset_meta = dict(FACE_META)
        if checkpoint is not None:
            self._load_checkpoint(model, str(checkpoint))
        else:
            warnings.warn(
                'FaceDetector: no checkpoint: the model has random weights '
                'and its detections are meaningless', UserWarning,
                stacklevel=2)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model.to(self.device).eval()
        self.with_keypoints = bool(
            getattr(self.model.bbox_head, 'num_points', 0))
        self._pipeline_cfg = {
            src: make_test_pipeline_cfg(cfg, test_scale, src == 'array')
            for src in ('path', 'array')
        }
        if self.device.type != 'cpu':
            # on an accelerator the preprocessor's work is cheap whatever
            # the layout, the host's per-image transpose is not (0.7 ms per
            # VGA image, measured on CPU); on CPU the transpose is cheaper
            # than normalising a strided image
            self._pipeline_cfg = {
                k: _with_hwc_inputs(v)
                for k, v in self._pipeline_cfg.items()
            }
        self._pipelines = {
            k: Compose(v)
            for k, v in self._pipeline_cfg.items()
        }
        self._visualizer = None

    # ------------------------------------------------------------ loading
    @staticmethod
    def _load_checkpoint(model: torch.nn.Module, checkpoint: str) -> None:
        """Load an mmdet (or converted reference) checkpoint, strictly, as
        weights only (:func:`mmcv_patches.safe_load`)."""
        if checkpoint.startswith(('http://', 'https://')):
            # mmengine's loader, routed through safe_load by mmcv_patches
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu',
                                   strict=True)
        else:
            ckpt = safe_load(checkpoint, map_location='cpu')
            sd = ckpt.get('state_dict', ckpt) if isinstance(ckpt,
                                                           dict) else None
            if not isinstance(sd, dict):
                raise ValueError(f'{checkpoint} holds no state dict')
            if 'state_dict' not in ckpt:
                # reference trainers save {'model': sd} or {'weight': sd}
                for key in ('model', 'weight'):
                    inner = ckpt.get(key)
                    if isinstance(inner, dict) and inner and all(
                            isinstance(v, torch.Tensor)
                            for v in inner.values()):
                        sd = inner
                        break
            _check_reference_keys(sd, checkpoint)
            _load_checkpoint_to_model(
                model, ckpt if sd is ckpt or sd is ckpt.get('state_dict')
                else dict(state_dict=sd), strict=True)
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        ds_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
        if ds_meta:
            model.dataset_meta = {k.lower(): v for k, v in ds_meta.items()}
            model.dataset_meta.setdefault('palette', FACE_META['palette'])

    # ------------------------------------------------------------- inputs
    def _prepare(self, img: ImageInput, index: int) -> dict:
        """Run one image through the test pipeline; an error of the
        pipeline becomes a ``ValueError`` naming the image."""
        if isinstance(img, (str, Path)):
            path = str(img)
            if osp.isdir(path):
                raise IsADirectoryError(
                    f'{path} is a directory, not an image file (give its '
                    'images; tools/infer.py takes a folder)')
            if not osp.isfile(path):
                raise FileNotFoundError(f'image file not found: {path}')
            data = dict(img_path=path, img_id=index)
            return self._run_pipeline('path', data, path)
        if isinstance(img, np.ndarray):
            if img.ndim != 3 or img.shape[2] != 3:
                raise ValueError('an image array must be H x W x 3 (BGR), '
                                 f'got shape {img.shape}')
            if img.dtype not in (np.uint8, np.float32):
                raise ValueError('an image array must be uint8 or float32, '
                                 f'got {img.dtype}')
            if img.shape[0] < 1 or img.shape[1] < 1:
                raise ValueError(f'empty image array of shape {img.shape}')
            if img.dtype == np.float32 and float(img.max()) <= 1:
                warnings.warn(
                    f'image {index} is a float32 array with values in '
                    '[0, 1]; FaceDetector expects BGR pixel values in 0-255 '
                    '(multiply by 255): few or no faces will be found',
                    UserWarning, stacklevel=4)
            data = dict(img=img, img_id=index)
            return self._run_pipeline(
                'array', data,
                f'image {index} (array of shape {tuple(img.shape)})')
        raise TypeError('an image must be a file path or an H x W x 3 BGR '
                        f'numpy array, got {type(img).__name__} (image '
                        f'{index})' + _NONE_HINT * (img is None))

    def _run_pipeline(self, src: str, data: dict, name: str) -> dict:
        try:
            return self._pipelines[src](data)
        except Exception as e:
            raise ValueError(f'cannot prepare {name} with the test pipeline '
                             f'(test_scale={self.test_scale!r}): '
                             f'{type(e).__name__}: {e}') from e

    @staticmethod
    def _input_name(img: Any, index: int) -> str:
        return str(img) if isinstance(img, (str, Path)) else f'image {index}'

    @staticmethod
    def _as_list(imgs: Any) -> list:
        """``imgs`` as a list, or a TypeError saying what is accepted."""
        if imgs is None or isinstance(imgs, (bool, bytes)) or not isinstance(
                imgs, Iterable):
            raise TypeError(
                'images must be a file path, an H x W x 3 BGR numpy array or '
                f'a list of them, got {type(imgs).__name__}' +
                _NONE_HINT * (imgs is None))
        return list(imgs)

    def _batches(self, items: List[dict]) -> List[List[int]]:
        """Indices of ``items`` per forward pass."""
        bs = self.batch_size
        if self.pad_mixed_sizes:
            order = list(range(len(items)))
            return [order[i:i + bs] for i in range(0, len(order), bs)]
        groups: Dict[tuple, List[int]] = {}
        for i, item in enumerate(items):
            groups.setdefault(tuple(item['inputs'].shape), []).append(i)
        return [
            idx[i:i + bs] for idx in groups.values()
            for i in range(0, len(idx), bs)
        ]

    # ---------------------------------------------------------- inference
    def _autocast(self):
        if not self.amp:
            return nullcontext()
        if self.device.type == 'cuda':
            return torch.autocast('cuda', dtype=torch.float16)
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _test_step(self, data: dict,
                   names: Optional[List[str]] = None) -> list:
        """``model.test_step`` as its steps: the data preprocessor, the
        network on a dense batch (channels-last with ``channels_last``,
        under autocast with ``amp``), then decoding + NMS in float32.

        A ``RuntimeError`` of the network (an input too small for its
        pooling / strides) becomes a ``ValueError`` naming the images
        (``names``) of the batch. In a padded mixed-size batch, detections
        of a smaller image whose box centre lies outside it (in the padding)
        are dropped.
        """
        model = self.model
        data = model.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        inputs = inputs.contiguous(memory_format=torch.channels_last if self.
                                   channels_last else torch.contiguous_format)
        try:
            with self._autocast():
                outs = model.bbox_head(model.extract_feat(inputs))
        except torch.cuda.OutOfMemoryError:
            raise
        except RuntimeError as e:
            names = names or [f'image {i}' for i in range(len(samples))]
            what = ', '.join(
                f'{n} (input {s.metainfo["img_shape"][0]}x'
                f'{s.metainfo["img_shape"][1]})'
                for n, s in zip(names, samples))
            raise ValueError(
                f'the network failed on {what}, batch input '
                f'{tuple(inputs.shape[-2:])}: the input is too small for '
                f'this network (or test_scale shrinks it too much); '
                f'original error: {e}') from e
        if self.amp:
            outs = tuple([o.float() for o in level] for level in outs)
        results = model.bbox_head.predict_by_feat(
            *outs, batch_img_metas=[s.metainfo for s in samples],
            rescale=True)
        if self.pad_mixed_sizes and len(samples) > 1:
            results = self._drop_padding_detections(samples, results)
        return model.add_pred_to_datasample(samples, results)

    @staticmethod
    def _drop_padding_detections(samples: list, results: list) -> list:
        """Drop the detections of padded images (smaller than the largest
        image of the batch) whose box centre is outside the image: the
        network finds "faces" in the padding."""
        max_h = max(int(s.metainfo['img_shape'][0]) for s in samples)
        max_w = max(int(s.metainfo['img_shape'][1]) for s in samples)
        out = []
        for s, res in zip(samples, results):
            h, w = (int(v) for v in s.metainfo['img_shape'][:2])
            if h >= max_h and w >= max_w:
                out.append(res)  # not padded: unchanged
                continue
            oh, ow = (float(v) for v in s.metainfo['ori_shape'][:2])
            b = res.bboxes if isinstance(res.bboxes,
                                         torch.Tensor) else res.bboxes.tensor
            cx = (b[:, 0] + b[:, 2]) * 0.5
            cy = (b[:, 1] + b[:, 3]) * 0.5
            keep = (cx >= 0) & (cx <= ow) & (cy >= 0) & (cy <= oh)
            out.append(res[keep])
        return out

    @torch.no_grad()
    def predict_samples(self, imgs: Sequence[ImageInput]) -> list:
        """Detect faces and return mmdet ``DetDataSample`` s (tensors on the
        device), in input order, as ``model.test_step`` gives them."""
        imgs = self._as_list(imgs)
        items = [self._prepare(img, i) for i, img in enumerate(imgs)]
        outputs: List[Any] = [None] * len(items)
        for idx in self._batches(items):
            samples = self._test_step(
                pseudo_collate([items[i] for i in idx]),
                [self._input_name(imgs[i], i) for i in idx])
            for i, sample in zip(idx, samples):
                outputs[i] = sample
        return outputs

    def _to_results(self, samples: list) -> List[FaceDetections]:
        """Numpy results of ``samples``: one device-to-host copy per field
        for all of them (not one per image)."""
        preds = [s.pred_instances for s in samples]
        counts = [len(p.scores) for p in preds]
        num_points = int(getattr(self.model.bbox_head, 'num_points', 0))

        def gather(get, shape) -> np.ndarray:
            if not preds:
                return np.zeros((0, ) + shape, np.float32)
            out = torch.cat([get(p).reshape((-1, ) + shape) for p in preds])
            return out.detach().float().cpu().numpy()

        bboxes = gather(
            lambda p: p.bboxes if isinstance(p.bboxes, torch.Tensor) else
            p.bboxes.tensor, (4, ))
        scores = gather(lambda p: p.scores, ())
        kpts = None
        if self.with_keypoints:
            kpts = gather(
                lambda p: p.keypoints if 'keypoints' in p else p.scores.
                new_zeros((len(p.scores), num_points, 2)), (num_points, 2))
        splits = np.cumsum(counts)[:-1]
        return [
            FaceDetections(
                bboxes=b,
                scores=sc,
                keypoints=k,
                img_shape=tuple(int(v) for v in s.ori_shape[:2]))
            for s, b, sc, k in zip(
                samples, np.split(bboxes, splits), np.split(scores, splits),
                np.split(kpts, splits) if kpts is not None else
                [None] * len(samples))
        ]

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
        results = self._to_results(self.predict_samples(items))
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
                'face', rgb, sample, draw_gt=False, show=False,
                pred_score_thr=score_thr)
        return np.ascontiguousarray(vis.get_image()[..., ::-1])
