"""mmdet's ``DetInferencer`` for face detectors: config + checkpoint in,
``DetDataSample`` s, JSON-friendly dicts, drawings or numpy
:class:`FaceDetections` out."""
import copy
import os.path as osp
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Tuple, Union)

import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.apis import DetInferencer
from mmdet.registry import MODELS, TRANSFORMS
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from mmcv_patches.checkpoint import safe_load
from mmcv_patches.reference_checkpoints import (check_not_reference,
                                                reference_state_dict)
from .checkpoint_fit import strict_checkpoint_loading

__all__ = [
    'FaceInferencer', 'FaceDetections', 'make_test_pipeline_cfg', 'TestScale',
    'ImageInput'
]

ImageInput = Union[str, Path, np.ndarray]
TestScale = Optional[Union[str, int, float, Tuple[int, Optional[int]]]]

FACE_META = {'classes': ('face', ), 'palette': [(0, 255, 0)]}
# test-pipeline steps that only load annotations (not needed to detect)
_ANN_LOADERS = ('LoadAnnotations', 'LoadFaceAnnotations')
_NONE_HINT = ('; cv2.imread returns None for a file it cannot read: check '
              'its result')


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
        """The number of faces."""
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
    """Whether a pipeline step resizes the image."""
    return 'Resize' in str(step.get('type', '')).split('.')[-1]


def _type_name(step: dict) -> str:
    """A pipeline step's type without its scope prefix."""
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
    CPU transpose copy (the preprocessor makes the batch dense on the
    device)."""
    return [
        dict(s, contiguous=False) if _type_name(s) == 'PackFaceInputs' else s
        for s in steps
    ]


def load_face_checkpoint(model: torch.nn.Module, checkpoint: str) -> None:
    """Load an mmdet (or converted reference) checkpoint into ``model``,
    strictly, as weights only (:func:`mmcv_patches.safe_load`); an
    unconverted reference checkpoint is refused with the command that
    converts it. ``model.dataset_meta`` comes from the checkpoint's meta
    when it has one.

    Args:
        model (torch.nn.Module): The detector.
        checkpoint (str): Path or ``http(s)://`` URL.
    """
    if checkpoint.startswith(('http://', 'https://')):
        # mmengine's loader, routed through safe_load by mmcv_patches
        with strict_checkpoint_loading(checkpoint):
            ckpt = load_checkpoint(
                model, checkpoint, map_location='cpu', strict=True)
    else:
        ckpt = safe_load(checkpoint, map_location='cpu')
        sd = reference_state_dict(ckpt)
        if not isinstance(sd, dict):
            raise ValueError(f'{checkpoint} holds no state dict')
        check_not_reference(sd, checkpoint)
        with strict_checkpoint_loading(checkpoint):
            _load_checkpoint_to_model(
                model,
                ckpt if sd is ckpt or sd is ckpt.get('state_dict') else dict(
                    state_dict=sd),
                strict=True)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    ds_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
    if ds_meta:
        model.dataset_meta = {k.lower(): v for k, v in ds_meta.items()}
        model.dataset_meta.setdefault('palette', FACE_META['palette'])


def _float32_decoding(predict_by_feat: Callable) -> Callable:
    """``predict_by_feat`` of a head, run outside autocast on float32 copies
    of its tensor arguments (box decoding and NMS in float32 under AMP)."""

    def as_float(x):
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.float()
        if isinstance(x, (list, tuple)):
            return type(x)(as_float(v) for v in x)
        return x

    def wrapper(*args, **kwargs):
        device_type = next(
            (a.device.type for a in args if isinstance(a, torch.Tensor)),
            'cpu')
        with torch.autocast(device_type, enabled=False):
            return predict_by_feat(
                *as_float(args), **{
                    k: as_float(v)
                    for k, v in kwargs.items()
                })

    return wrapper


class _DenseInputs:
    """Forward hook of the data preprocessor: the batch in one memory
    format (images handed over as strided views, ``hwc_inputs``, would
    otherwise reach the network in whatever layout the preprocessor's ops
    kept)."""

    def __init__(self, memory_format: torch.memory_format) -> None:
        self.memory_format = memory_format

    def __call__(self, module, args, output):
        """Make ``output['inputs']`` dense in :attr:`memory_format`."""
        output['inputs'] = output['inputs'].contiguous(
            memory_format=self.memory_format)
        return output


class FaceInferencer(DetInferencer):
    """mmdet's :class:`~mmdet.apis.DetInferencer` for face detectors.

    Everything ``DetInferencer`` does -- config, registry scope, model,
    folder inputs, ``batch_size``, drawings (the config's
    ``FaceLocalVisualizer``), ``pred_score_thr``, ``out_dir``,
    ``no_save_vis`` / ``no_save_pred``, JSON results (with ``keypoints``)
    -- plus what face detection needs:

    * ``test_scale``: the test resize of :func:`make_test_pipeline_cfg`;
    * the config's own image loader for paths (``LoadFaceImage``: a
      missing or corrupt file is an error naming it), input checks and
      pipeline errors that name the image;
    * batches of same-size images only (``pad_mixed_sizes=False``, the
      default: consecutive images of one size share a forward pass, every
      image sees the input it would see alone), or padded mixed batches
      whose detections centred in the padding are dropped;
    * ``amp`` (network under ``torch.autocast``, decoding and NMS in
      float32) and ``channels_last``;
    * checkpoints loaded strictly as weights only, an unconverted reference
      checkpoint refused with its converter, one that does not fit the
      config (another detector, another width) refused in one line naming
      it and what does not fit (a ``ValueError``), ``('face',)`` as class
      names when the checkpoint has none;
    * :meth:`to_detections`: numpy :class:`FaceDetections`.

    Images run through the config's test pipeline, the model's data
    preprocessor and ``model.test_step`` -- the path of ``tools/test.py``
    -- so a batch-1 result equals the test loop's bit for bit, for any
    mmdet detector (single- or two-stage).

    Args:
        model (str | Path | Config): Config file or object.
        weights (str, optional): Checkpoint (mmdet's, or converted by
            ``tools/model_converters/*``); None: random weights, with a
            warning.
        device (str, optional): ``'cpu'``, ``'cuda:0'`` ...; None: the
            available device, as ``DetInferencer``.
        scope (str): Registry scope. Defaults to ``'mmdet'``.
        palette (str): As ``DetInferencer``. Defaults to ``'none'``.
        show_progress (bool): Progress bar in ``__call__``. Defaults to
            True.
        test_scale (str | int | float | tuple, optional): See
            :func:`make_test_pipeline_cfg`; None keeps the config's.
        score_thr (float, optional): Score threshold of the detections
            (``model.test_cfg.score_thr``), in [0, 1]; None keeps the
            config's. (``pred_score_thr`` only selects what is drawn.)
        pad_mixed_sizes (bool): Pad images of different sizes into one
            batch. Defaults to False.
        amp (bool): Network under ``torch.autocast`` (float16 on CUDA,
            bfloat16 elsewhere). Defaults to False.
        channels_last (bool): Channels-last model and inputs. Defaults to
            False.
        cfg_options (dict, optional): Config overrides (as
            ``--cfg-options``).
        hwc_inputs (bool, optional): Hand images to the data preprocessor
            as C x H x W views of the H x W x C arrays (no host transpose);
            None: on accelerators only.
    """

    def __init__(self,
                 model: Union[str, Path, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmdet',
                 palette: str = 'none',
                 show_progress: bool = True,
                 test_scale: TestScale = None,
                 score_thr: Optional[float] = None,
                 pad_mixed_sizes: bool = False,
                 amp: bool = False,
                 channels_last: bool = False,
                 cfg_options: Optional[dict] = None,
                 hwc_inputs: Optional[bool] = None) -> None:
        import mmdet_faces  # noqa: F401  (registers the models)
        if isinstance(model, (str, Path)):
            if not osp.isfile(str(model)):
                raise FileNotFoundError(f'config file not found: {model}')
            cfg = Config.fromfile(str(model))
        elif isinstance(model, Config):
            cfg = copy.deepcopy(model)
        else:
            raise TypeError(f'config must be a path or a Config, got '
                            f'{type(model)}')
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
        # read by _init_model / _init_pipeline, which the base class calls
        self.test_scale = test_scale
        self.pad_mixed_sizes = pad_mixed_sizes
        self.amp = amp
        self.channels_last = channels_last
        self.hwc_inputs = hwc_inputs
        self.pipeline_cfg: List[dict] = []
        super().__init__(
            model=cfg,
            weights=None if weights is None else str(weights),
            device=device,
            scope=scope,
            palette=palette,
            show_progress=show_progress)
        head = getattr(self.model, 'bbox_head', None)
        self.num_points = int(getattr(head, 'num_points', 0) or 0)

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters."""
        return next(self.model.parameters()).device

    # ------------------------------------------------------------- model
    def _init_model(self,
                    cfg: Config,
                    weights: Optional[str],
                    device: str = 'cpu') -> torch.nn.Module:
        """Build the model as mmdet's ``init_detector`` does, load the
        checkpoint with :func:`load_face_checkpoint`, set up AMP and
        channels-last."""
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        model.cfg = cfg
        model.dataset_meta = dict(FACE_META)
        if weights is not None:
            load_face_checkpoint(model, weights)
        else:
            warnings.warn(
                'FaceDetector: no checkpoint: the model has random weights '
                'and its detections are meaningless',
                UserWarning,
                stacklevel=5)
        if self.palette != 'none':
            model.dataset_meta['palette'] = self.palette
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        model.data_preprocessor.register_forward_hook(
            _DenseInputs(torch.channels_last if self.channels_last else torch.
                         contiguous_format))
        if self.amp:
            for module in model.modules():
                if callable(getattr(module, 'predict_by_feat', None)):
                    module.predict_by_feat = _float32_decoding(
                        module.predict_by_feat)
        return model.to(device).eval()

    def _init_pipeline(self, cfg: Config) -> Compose:
        """The test pipeline of :func:`make_test_pipeline_cfg`, loading
        paths with the config's own loader and arrays with mmdet's
        ``LoadImageFromNDArray`` (through mmdet's ``InferencerLoader``)."""
        steps = make_test_pipeline_cfg(cfg, self.test_scale)
        if self.hwc_inputs or (self.hwc_inputs is None
                               and self.device.type != 'cpu'):
            # on an accelerator the preprocessor's work is cheap whatever
            # the layout, the host's per-image transpose is not (0.7 ms per
            # VGA image, measured on CPU); on CPU the transpose is cheaper
            # than normalising a strided image
            steps = _with_hwc_inputs(steps)
        self.pipeline_cfg = steps
        loader_args = {k: v for k, v in steps[0].items() if k != 'type'}
        loader = TRANSFORMS.build(
            dict(type='mmdet.InferencerLoader', **loader_args))
        loader.from_file = TRANSFORMS.build(steps[0])
        return Compose([loader] + steps[1:])

    def _init_visualizer(self, cfg: Config):
        """The config's visualizer without storage backends: drawings are
        written to ``out_dir`` by ``__call__`` itself (a backend without a
        ``save_dir`` only warns)."""
        if cfg.get('visualizer') is not None:
            cfg.visualizer = dict(cfg.visualizer, vis_backends=None)
        return super()._init_visualizer(cfg)

    def _init_collate(self, cfg: Config) -> Callable:
        """The test loader's ``collate_fn``, else ``pseudo_collate``."""
        if cfg.get('test_dataloader', {}).get('collate_fn'):
            return super()._init_collate(cfg)
        return pseudo_collate

    # ------------------------------------------------------------ inputs
    def _inputs_to_list(self, inputs: Any) -> list:
        """``DetInferencer``'s (a folder becomes its images, here sorted by
        name), ``Path`` s as ``str``."""
        if isinstance(inputs, Path):
            inputs = str(inputs)
        items = super()._inputs_to_list(inputs)
        if isinstance(inputs, str) and osp.isdir(inputs):
            items = sorted(items)
        return [str(x) if isinstance(x, Path) else x for x in items]

    def prepare(self, img: ImageInput, index: int) -> dict:
        """Run one image through the test pipeline.

        Args:
            img (str | Path | np.ndarray): A file path or an H x W x 3 BGR
                uint8 / float32 array.
            index (int): Its position in the input (``img_id``; names an
                array in errors).

        Returns:
            dict: ``inputs`` and ``data_samples`` of the image.

        Raises:
            FileNotFoundError, IsADirectoryError, TypeError, ValueError:
                Bad input, naming the image; an error of the pipeline
                becomes a ``ValueError`` naming the image.
        """
        if isinstance(img, (str, Path)):
            path = str(img)
            if osp.isdir(path):
                raise IsADirectoryError(
                    f'{path} is a directory, not an image file (give its '
                    'images; tools/infer.py takes a folder)')
            if not osp.isfile(path):
                raise FileNotFoundError(f'image file not found: {path}')
            return self._run_pipeline(dict(img_path=path, img_id=index), path)
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
                    UserWarning,
                    stacklevel=4)
            return self._run_pipeline(
                dict(img=img, img_id=index),
                f'image {index} (array of shape {tuple(img.shape)})')
        raise TypeError('an image must be a file path or an H x W x 3 BGR '
                        f'numpy array, got {type(img).__name__} (image '
                        f'{index})' + _NONE_HINT * (img is None))

    def _run_pipeline(self, data: dict, name: str) -> dict:
        """The test pipeline on ``data``; its errors name the image."""
        try:
            return self.pipeline(data)
        except Exception as e:
            raise ValueError(f'cannot prepare {name} with the test pipeline '
                             f'(test_scale={self.test_scale!r}): '
                             f'{type(e).__name__}: {e}') from e

    def preprocess(self,
                   inputs: Iterable,
                   batch_size: int = 1,
                   **kwargs) -> Iterator[Tuple[list, dict]]:
        """Prepare the images one by one and batch them: up to
        ``batch_size`` consecutive images of one (resized) size per batch
        (any sizes with ``pad_mixed_sizes``), in input order.

        Yields:
            tuple[list, dict]: The batch's inputs as given and its collated
            data (``model.test_step``'s input).
        """
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        chunk: List[Tuple[Any, dict]] = []
        for index, img in enumerate(inputs):
            item = self.prepare(img, index)
            if chunk and (len(chunk) == batch_size or
                          (not self.pad_mixed_sizes and item['inputs'].shape
                           != chunk[0][1]['inputs'].shape)):
                yield [c[0]
                       for c in chunk], self.collate_fn([c[1] for c in chunk])
                chunk = []
            chunk.append((img, item))
        if chunk:
            yield [c[0] for c in chunk], self.collate_fn([c[1] for c in chunk])

    # ---------------------------------------------------------- inference
    def autocast(self):
        """``torch.autocast`` of ``amp`` (float16 on CUDA, bfloat16
        elsewhere), or a null context."""
        if not self.amp:
            return nullcontext()
        device_type = self.device.type
        return torch.autocast(
            device_type,
            dtype=torch.float16 if device_type == 'cuda' else torch.bfloat16)

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        """``model.test_step`` on a collated batch (under autocast with
        ``amp``); detections of padded images centred in their padding are
        dropped.

        A ``RuntimeError`` (an input too small for the network's pooling /
        strides) becomes a ``ValueError`` naming the images of the batch.
        """
        try:
            with self.autocast():
                samples = self.model.test_step(inputs)
        except torch.cuda.OutOfMemoryError:
            raise
        except RuntimeError as e:
            what = ', '.join(
                f'{_image_name(s.metainfo)} (input '
                f'{s.metainfo["img_shape"][0]}x{s.metainfo["img_shape"][1]})'
                for s in inputs['data_samples'])
            raise ValueError(
                f'the network failed on {what}: the input is too small for '
                f'this network (or test_scale shrinks it too much); '
                f'original error: {e}') from e
        if self.pad_mixed_sizes and len(samples) > 1:
            _drop_padding_detections(samples)
        return samples

    def predict_samples(self, inputs: Iterable, batch_size: int = 1) -> list:
        """``DetDataSample`` s (tensors on the device) of ``inputs``, in
        order, as ``model.test_step`` gives them."""
        samples = []
        for _, data in self.preprocess(inputs, batch_size):
            samples.extend(self.forward(data))
        return samples

    def to_detections(self, samples: list) -> List[FaceDetections]:
        """Numpy :class:`FaceDetections` of ``samples``: one device-to-host
        copy per field for all of them (not one per image)."""
        preds = [s.pred_instances for s in samples]
        counts = [len(p.scores) for p in preds]
        num_points = self.num_points

        def gather(get, shape) -> np.ndarray:
            if not preds:
                return np.zeros((0, ) + shape, np.float32)
            out = torch.cat([get(p).reshape((-1, ) + shape) for p in preds])
            return out.detach().float().cpu().numpy()

        bboxes = gather(
            lambda p: p.bboxes
            if isinstance(p.bboxes, torch.Tensor) else p.bboxes.tensor, (4, ))
        scores = gather(lambda p: p.scores, ())
        kpts = None
        if num_points:
            kpts = gather(
                lambda p: p.keypoints
                if 'keypoints' in p else p.scores.new_zeros(
                    (len(p.scores), num_points, 2)), (num_points, 2))
        splits = np.cumsum(counts)[:-1]
        return [
            FaceDetections(
                bboxes=b,
                scores=sc,
                keypoints=k,
                img_shape=tuple(int(v) for v in s.ori_shape[:2]))
            for s, b, sc, k in zip(
                samples, np.split(bboxes, splits), np.split(scores, splits),
                np.split(kpts, splits) if kpts is not None else [None] *
                len(samples))
        ]


def _image_name(meta: dict) -> str:
    """The image's path, else ``image <its index in the input>``."""
    return meta.get('img_path') or f'image {meta.get("img_id")}'


def _drop_padding_detections(samples: list) -> None:
    """Drop, in place, the detections of padded images (smaller than the
    largest image of the batch) whose box centre is outside the image: the
    network finds "faces" in the padding."""
    max_h = max(int(s.metainfo['img_shape'][0]) for s in samples)
    max_w = max(int(s.metainfo['img_shape'][1]) for s in samples)
    for s in samples:
        h, w = (int(v) for v in s.metainfo['img_shape'][:2])
        if h >= max_h and w >= max_w:
            continue  # not padded: unchanged
        res = s.pred_instances
        oh, ow = (float(v) for v in s.metainfo['ori_shape'][:2])
        b = res.bboxes if isinstance(res.bboxes,
                                     torch.Tensor) else res.bboxes.tensor
        cx = (b[:, 0] + b[:, 2]) * 0.5
        cy = (b[:, 1] + b[:, 3]) * 0.5
        s.pred_instances = res[(cx >= 0) & (cx <= ow) & (cy >= 0) & (cy <= oh)]
