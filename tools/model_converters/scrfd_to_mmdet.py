#!/usr/bin/env python
"""Convert insightface SCRFD checkpoints (``detection/scrfd``, mmdet 2.x
key layout) to mmdet_faces.

Usage::

    python tools/model_converters/scrfd_to_mmdet.py SRC DST \
        [--arch auto|500m|1g|2.5g|10g|34g|500m_kps|2.5g_kps|10g_kps] \
        [--config CONFIG]

SRC is a released ``.pth`` (``SCRFD_500M.pth`` ... ``SCRFD_10G_KPS.pth``)
or any checkpoint of the insightface code: ``{'meta', 'state_dict',
'optimizer'}`` with ``backbone.*``, ``neck.*`` and ``bbox_head.*`` keys
(``cls_stride_convs``, ``stride_cls``, ``stride_reg``, ``stride_kps``,
``scales``); a ``module.`` prefix is tolerated. SRC is read weights only
(``weights_only=True`` with the project's allow-list; a file that is no
checkpoint is refused in one line), DST must not be SRC and is written
atomically.

The target is the model of a config in ``configs/scrfd/``: ``--arch auto``
(default) tries the released variants and takes the one whose every key
and shape fits; ``--config`` names any other SCRFD config (e.g. a custom
size). Keys that do not map, keys that are missing and shapes that do not
fit are listed and the file is refused. The head's ``integral.project``
buffer (a constant of the unused DFL branch) is dropped. DST is an mmengine
checkpoint ``{'meta', 'state_dict'}`` for that config (``tools/test.py
CONFIG DST``, ``load_from``, ``FaceDetector``).
"""
import functools
import importlib.util
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import List, Mapping, Optional, Tuple

import torch

# helpers shared by the converters, loaded by file path (tests load this
# file by path too, so its folder need not be on sys.path)
_spec = importlib.util.spec_from_file_location(
    '_converter_utils',
    osp.join(osp.dirname(osp.abspath(__file__)), '_converter_utils.py'))
cu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cu)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: the released models and the configs they load into
ARCHS = OrderedDict([
    ('500m', 'configs/scrfd/scrfd_500m_4xb8-640e_widerface.py'),
    ('1g', 'configs/scrfd/scrfd_1g_4xb8-640e_widerface.py'),
    ('2.5g', 'configs/scrfd/scrfd_2.5g_4xb8-640e_widerface.py'),
    ('10g', 'configs/scrfd/scrfd_10g_4xb8-640e_widerface.py'),
    ('34g', 'configs/scrfd/scrfd_34g_4xb8-640e_widerface.py'),
    ('500m_kps', 'configs/scrfd/scrfd_500m_kps_2xb16-640e_widerface.py'),
    ('2.5g_kps', 'configs/scrfd/scrfd_2.5g_kps_2xb16-640e_widerface.py'),
    ('10g_kps', 'configs/scrfd/scrfd_10g_kps_2xb16-640e_widerface.py'),
])

# the searched MobileNetV1: ``conv_bn`` / ``conv_dw`` Sequential indices
_CONV_BN = {'0': 'conv', '1': 'bn'}
_DW = {
    '0': 'depthwise_conv.conv',
    '1': 'depthwise_conv.bn',
    '3': 'pointwise_conv.conv',
    '4': 'pointwise_conv.bn'
}
_HEAD = {
    'cls_stride_convs': 'cls_convs',
    'reg_stride_convs': 'reg_convs',
    'stride_cls': 'conv_cls',
    'stride_reg': 'conv_reg',
    'stride_kps': 'conv_kps'
}
_GROUP = {'0': 0, '8': 0, '16': 1, '32': 2}
# dropped on purpose: constant buffer of the DFL integral (unused)
_DROPPED = re.compile(r'^bbox_head\.integral\.project$')


class CheckpointMismatchError(ValueError):
    """A source checkpoint whose keys or shapes do not fit the target."""


def map_key(key: str) -> Optional[str]:
    """Map one insightface key (no ``module.`` prefix) to ours, or None.

    ResNetV1e backbones and the PAFPN neck keep their keys; the
    MobileNetV1 ``stem`` / ``layerK`` become ``stage1`` / ``stage{K+1}``
    with mmcv module names; the head's per-stride dicts (key ``'0'`` when
    shared, else the stride) become per-level lists.
    """
    m = re.match(r'^backbone\.stem\.([01])\.(\d)\.(.+)$', key)
    if m:  # MobileNetV1 stem: conv_bn, conv_dw
        block, layer, param = m.groups()
        table = _CONV_BN if block == '0' else _DW
        return (f'backbone.stage1.{block}.{table[layer]}.{param}'
                if layer in table else None)
    m = re.match(r'^backbone\.layer([1-4])\.(\d+)\.(\d)\.(.+)$', key)
    if m:  # MobileNetV1 stages (ResNet blocks have named members)
        stage, block, layer, param = m.groups()
        return (f'backbone.stage{int(stage) + 1}.{block}.{_DW[layer]}.'
                f'{param}' if layer in _DW else None)
    if key.startswith(('backbone.', 'neck.')):
        return key
    m = re.match(r'^bbox_head\.(\w+)\.(\d+)\.(.+)$', key)
    if m and m.group(1) in _HEAD and m.group(2) in _GROUP:
        name, group, rest = m.groups()
        return f'bbox_head.{_HEAD[name]}.{_GROUP[group]}.{rest}'
    if re.match(r'^bbox_head\.scales\.[0-2]\.scale$', key):
        return key
    return None


@functools.lru_cache(maxsize=None)
def target_state_dict(config: str) -> 'OrderedDict[str, torch.Tensor]':
    """The state dict of our model of ``config`` (keys and shapes to
    fill). Cached: do not modify the result."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmdet_faces  # noqa: F401  (registers the components)
    path = config if osp.isabs(config) or osp.exists(config) else \
        osp.join(REPO_ROOT, config)
    cfg = Config.fromfile(path)
    if cfg.model.get('type') != 'SCRFD':
        raise CheckpointMismatchError(
            f'{config} is not an SCRFD config (model type '
            f'{cfg.model.get("type")!r})')
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    return OrderedDict(model.state_dict())


def _fit(sd: Mapping[str, torch.Tensor],
         config: str) -> Tuple['OrderedDict[str, torch.Tensor]', str, int]:
    """Converted state dict, '' and 0 when ``sd`` fits ``config``, else
    (partial result, mismatch report, number of mismatches)."""
    kept = {k: v for k, v in sd.items() if not _DROPPED.match(k)}
    converted, unmapped, missing, bad = cu.fit_state_dict(
        kept, target_state_dict(config), map_key)
    report = cu.mismatch_report(f'checkpoint does not fit {config}:', unmapped,
                                missing, bad)
    return converted, report, len(unmapped) + len(missing) + len(bad)


def _likely_first(sd: Mapping[str, torch.Tensor]) -> List[str]:
    """Released variants, those of the checkpoint's family (MobileNet or
    ResNet backbone, with or without keypoints) first."""
    mobile = any(k.startswith('backbone.stem.0.0.') for k in sd)
    kps = any(k.startswith('bbox_head.stride_kps.') for k in sd)

    def same_family(name: str) -> bool:
        return (name.startswith(('500m', '1g')) == mobile
                and name.endswith('_kps') == kps)

    return sorted(ARCHS, key=lambda n: not same_family(n))


def convert_scrfd(
    state_dict: Mapping[str, torch.Tensor],
    arch: str = 'auto',
    config: Optional[str] = None
) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """Convert an insightface SCRFD state dict to mmdet_faces keys.

    Args:
        state_dict (Mapping): A checkpoint (``{'state_dict': ...}`` or a
            bare state dict, ``module.`` prefixes tolerated).
        arch (str): ``'auto'`` or a key of :data:`ARCHS`. Defaults to
            ``'auto'``.
        config (str, optional): An SCRFD config to convert for instead of
            ``arch``.

    Returns:
        tuple: the converted state dict and the arch (or config) used.

    Raises:
        CheckpointMismatchError: listing unmapped keys, missing keys and
            shape mismatches (for ``'auto'``: of the closest variant).
    """
    sd = cu.unwrap_state_dict(state_dict, CheckpointMismatchError)
    if config is not None:
        candidates = [(config, config)]
    elif arch == 'auto':
        candidates = [(n, ARCHS[n]) for n in _likely_first(sd)]
    elif arch in ARCHS:
        candidates = [(arch, ARCHS[arch])]
    else:
        raise ValueError(f'unknown arch {arch!r}, expected auto or one of '
                         f'{list(ARCHS)}')
    reports = []
    for name, cfg in candidates:
        converted, report, num_bad = _fit(sd, cfg)
        if not report:
            return converted, name
        reports.append((num_bad, name, report))
    if len(reports) == 1:
        raise CheckpointMismatchError(reports[0][2])
    _, name, report = min(reports)
    raise CheckpointMismatchError(
        'checkpoint fits none of the released SCRFD variants '
        f'({", ".join(ARCHS)}); pass --config for another size. Closest, '
        f'{name}: {report}')


def convert_file(src: str,
                 dst: str,
                 arch: str = 'auto',
                 config: Optional[str] = None) -> str:
    """Convert ``src`` to an mmengine checkpoint at ``dst``; returns the
    arch (or config) used."""
    cu.check_src_dst(src, dst)
    checkpoint = cu.load_source(src)
    state_dict, used = convert_scrfd(checkpoint, arch, config)
    source_meta = checkpoint.get('meta') if isinstance(checkpoint,
                                                       Mapping) else None
    extra = {
        'epoch': source_meta['epoch']
    } if isinstance(source_meta, Mapping) and 'epoch' in source_meta else {}
    cu.save_converted(
        dst,
        state_dict,
        src,
        'deepinsight/insightface detection/scrfd',
        arch=used,
        config=config or ARCHS.get(used),
        **extra)
    return used


def parse_args(argv=None):
    parser = cu.build_parser(
        'Convert insightface SCRFD checkpoints (SCRFD_500M.pth ... '
        'SCRFD_10G_KPS.pth, mmdet 2.x layout) to mmdet_faces')
    parser.add_argument(
        '--arch',
        default='auto',
        choices=('auto', ) + tuple(ARCHS),
        help='released variant (default: the one the keys and shapes fit)')
    parser.add_argument(
        '--config',
        default=None,
        help='convert for this SCRFD config instead (another size)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    return cu.run_conversion(
        lambda: convert_file(args.src, args.dst, args.arch, args.config),
        CheckpointMismatchError, f'refused {args.src}',
        lambda used: f'converted {args.src} ({used}) -> {args.dst}')


if __name__ == '__main__':
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    sys.exit(main())
