#!/usr/bin/env python
"""Convert biubug6/Pytorch_Retinaface checkpoints to mmdet_faces.

Usage::

    python tools/model_converters/retinaface_to_mmdet.py SRC DST \
        [--arch auto|mnet025|r50]

SRC may be

* ``mobilenet0.25_Final.pth`` / ``Resnet50_Final.pth``: a state dict of the
  whole network (``body.*``, ``fpn.*``, ``ssh{1,2,3}.*``, ``ClassHead.*``,
  ``BboxHead.*``, ``LandmarkHead.*``), for
  ``configs/retinaface_mnet025_widerface.py`` /
  ``configs/retinaface_r50_widerface.py`` (``load_from`` or
  ``tools/test.py CONFIG DST``);
* ``mobilenetV1X0.25_pretrain.tar``: the ImageNet MobileNetV1-0.25 backbone
  (``{'state_dict': {'module.stage1.0.0.weight', ..., 'module.fc.*'}}``);
  its stages go to ``backbone.*`` (the classifier ``fc`` is dropped), for
  ``backbone.init_cfg=dict(type='Pretrained', checkpoint=DST,
  prefix='backbone.')`` or as ``load_from``.

A ``module.`` prefix (DataParallel) and a ``{'state_dict': ...}`` wrapper are
handled. Files are read as weights only (``mmcv_patches.safe_load``: a file
that holds code is refused, nothing of it runs). DST must not be SRC; it is
written atomically. Keys that do
not map, expected keys that are missing and shapes that do not fit are listed
and the file is refused. DST is an mmengine checkpoint
``{'state_dict': ..., 'meta': {...}}``.
"""
import functools
import importlib.util
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

# helpers shared by the converters, loaded by file path (tests load this
# file by path too, so its folder need not be on sys.path)
_spec = importlib.util.spec_from_file_location(
    '_converter_utils',
    osp.join(osp.dirname(osp.abspath(__file__)), '_converter_utils.py'))
cu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cu)

ARCHS = ('mnet025', 'r50', 'mnet025_backbone')

# SSH branch names: reference -> ours
_SSH = {
    'conv3X3': 'conv3x3',
    'conv5X5_1': 'conv5x5_1',
    'conv5X5_2': 'conv5x5_2',
    'conv7X7_2': 'conv7x7_2',
    'conv7x7_3': 'conv7x7_3',
}
_HEADS = {'ClassHead': 'cls_convs', 'BboxHead': 'reg_convs',
          'LandmarkHead': 'kpt_convs'}
_CONV_BN = {'0': 'conv', '1': 'bn'}
_DW = {'0': 'depthwise_conv.conv', '1': 'depthwise_conv.bn',
       '3': 'pointwise_conv.conv', '4': 'pointwise_conv.bn'}
# dropped on purpose: the ImageNet classifier of the backbone file
_DROPPED = re.compile(r'^fc\.(weight|bias)$')


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


def map_key(key: str, arch: str) -> Optional[str]:
    """Map one reference key (no ``module.`` prefix) to ours, or None."""
    if arch == 'mnet025_backbone':
        new = _map_mobilenet(key)
        return None if new is None else 'backbone.' + new
    m = re.match(r'^body\.(.+)$', key)
    if m:
        if arch == 'mnet025':
            new = _map_mobilenet(m.group(1))
            return None if new is None else 'backbone.' + new
        # torchvision ResNet and mmdet ResNet share the layout
        return 'backbone.' + m.group(1)
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
    m = re.match(r'^(ClassHead|BboxHead|LandmarkHead)\.(\d+)\.conv1x1\.'
                 r'(weight|bias)$', key)
    if m:
        head, level, param = m.groups()
        return f'bbox_head.{_HEADS[head]}.{level}.{param}'
    return None


@functools.lru_cache(maxsize=None)
def target_state_dict(arch: str) -> 'OrderedDict[str, torch.Tensor]':
    """The state dict of our model for ``arch`` (keys and shapes to fill),
    built with the same settings as ``configs/_base_/models/retinaface_*``.
    Cached: do not modify the result."""
    import mmdet_faces  # noqa: F401  (registers the components)
    from mmdet.models.backbones import ResNet

    from mmdet_faces.models import (FaceSSH, MobileNetV1, RetinaFaceFPN,
                                    RetinaFaceHead)
    if arch in ('mnet025', 'mnet025_backbone'):
        backbone = MobileNetV1(widen_factor=0.25)
        in_channels, out_channels = [64, 128, 256], 64
    elif arch == 'r50':
        backbone = ResNet(depth=50, out_indices=(1, 2, 3), style='pytorch')
        in_channels, out_channels = [512, 1024, 2048], 256
    else:
        raise ValueError(f'unknown arch {arch!r}, expected one of {ARCHS}')
    parts = [('backbone.', backbone)]
    if arch != 'mnet025_backbone':
        parts += [
            ('neck.0.', RetinaFaceFPN(in_channels, out_channels)),
            ('neck.1.', FaceSSH(3, out_channels, out_channels)),
            ('bbox_head.', RetinaFaceHead(in_channels=out_channels)),
        ]
    out = OrderedDict()
    for prefix, module in parts:
        for k, v in module.state_dict().items():
            out[prefix + k] = v
    return out


def unwrap(checkpoint) -> Dict[str, torch.Tensor]:
    """Take ``state_dict`` out of a wrapper and strip ``module.``."""
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'expected a dict, got {type(checkpoint).__name__}')
    sd = checkpoint
    if 'state_dict' in sd and isinstance(sd['state_dict'], dict):
        sd = sd['state_dict']
    return cu.strip_prefix(sd)


def detect_arch(state_dict: Dict[str, torch.Tensor]) -> str:
    """Guess the architecture from the (unwrapped) keys."""
    keys = list(state_dict)
    if any(k.startswith('body.layer') for k in keys):
        return 'r50'
    if any(k.startswith('body.stage') for k in keys):
        return 'mnet025'
    if any(k.startswith('stage') for k in keys) and not any(
            k.startswith(('body.', 'fpn.', 'ssh')) for k in keys):
        return 'mnet025_backbone'
    raise CheckpointMismatchError(
        'cannot tell the architecture: no key starts with body.layer '
        '(ResNet-50), body.stage (MobileNet0.25) or stage (MobileNet '
        f'backbone file); first keys: {keys[:8]}')


def convert_retinaface(state_dict: Dict[str, torch.Tensor],
                       arch: str = 'auto'
                       ) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """Convert a reference state dict to mmdet_faces keys.

    Args:
        state_dict (dict): A reference state dict, possibly wrapped as
            ``{'state_dict': ...}`` and/or with ``module.`` prefixes.
        arch (str): ``'auto'``, ``'mnet025'``, ``'r50'`` or
            ``'mnet025_backbone'``. With ``'mnet025'``, a backbone-only file
            is recognised and converted as ``'mnet025_backbone'``.

    Returns:
        tuple: the converted state dict and the architecture used.

    Raises:
        CheckpointMismatchError: listing unmapped keys, missing keys and
            shape mismatches.
    """
    sd = unwrap(state_dict)
    if arch == 'auto':
        arch = detect_arch(sd)
    elif arch == 'mnet025' and not any(k.startswith('body.') for k in sd):
        try:
            if detect_arch(sd) == 'mnet025_backbone':
                arch = 'mnet025_backbone'
        except CheckpointMismatchError:
            pass
    if arch not in ARCHS:
        raise ValueError(f'unknown arch {arch!r}, expected one of {ARCHS}')
    target = target_state_dict(arch)

    converted = OrderedDict()
    unmapped: List[str] = []
    bad_shapes: List[str] = []
    for k, v in sd.items():
        if arch == 'mnet025_backbone' and _DROPPED.match(k):
            continue
        new = map_key(k, arch)
        if new is None or new not in target:
            unmapped.append(k)
            continue
        if not isinstance(v, torch.Tensor):
            unmapped.append(f'{k} (not a tensor)')
            continue
        if tuple(v.shape) != tuple(target[new].shape):
            bad_shapes.append(f'{k}: {tuple(v.shape)} -> {new} expects '
                              f'{tuple(target[new].shape)}')
            continue
        converted[new] = v.detach().clone()
    missing = []
    for k, v in target.items():
        if k in converted:
            continue
        if k.endswith('num_batches_tracked'):
            converted[k] = torch.zeros_like(v)  # absent in old files
            continue
        missing.append(k)
    report = cu.mismatch_report(
        f'checkpoint does not fit RetinaFace {arch}:', unmapped, missing,
        bad_shapes)
    if report:
        raise CheckpointMismatchError(report)
    # keep our model's key order
    ordered = OrderedDict((k, converted[k]) for k in target)
    return ordered, arch


def convert_file(src: str, dst: str, arch: str = 'auto') -> str:
    """Convert ``src`` to an mmengine checkpoint at ``dst``; returns arch."""
    cu.check_src_dst(src, dst)
    checkpoint = cu.load_source(src)
    state_dict, arch = convert_retinaface(checkpoint, arch)
    meta = dict(
        converted_from=osp.basename(src),
        source='biubug6/Pytorch_Retinaface',
        arch=arch,
        dataset_meta=dict(classes=('face', )))
    cu.save_atomic(dict(state_dict=state_dict, meta=meta), dst)
    return arch


def parse_args(argv=None):
    parser = cu.build_parser(
        'Convert biubug6/Pytorch_Retinaface checkpoints '
        '(mobilenet0.25_Final.pth, Resnet50_Final.pth, '
        'mobilenetV1X0.25_pretrain.tar) to mmdet_faces')
    parser.add_argument(
        '--arch',
        default='auto',
        choices=('auto', ) + ARCHS,
        help='architecture (default: detected from the keys)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    return cu.run_conversion(
        lambda: convert_file(args.src, args.dst, args.arch),
        CheckpointMismatchError, f'refused {args.src}',
        lambda arch: f'converted {args.src} ({arch}) -> {args.dst}')


if __name__ == '__main__':
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if repo not in sys.path:
        sys.path.insert(0, repo)
    sys.exit(main())
