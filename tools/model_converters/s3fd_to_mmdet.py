#!/usr/bin/env python
"""Convert S3FD reference checkpoints (yxlijun/S3FD.pytorch) to mmdet_faces.

Usage::

    python tools/model_converters/s3fd_to_mmdet.py SRC DST

SRC may be

* ``s3fd.pth`` / ``sfd_face.pth``: a plain state dict of the whole network
  (``vgg.N``, ``L2Norm3_3.weight`` .., ``extras.N``, ``loc.N``, ``conf.N``);
* ``sfd_face_checkpoint.pth``: ``{'epoch': .., 'weight': state_dict}``;
* ``vgg16_reducedfc.pth``: the SSD VGG16 backbone file, bare keys
  ``0.weight`` .. ``33.bias``; converted to backbone-only keys
  (``backbone.features.N``), to use as
  ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``.

A ``module.`` prefix (DataParallel) and a ``state_dict``/``model`` wrapper are
tolerated. Files are read as weights only (``mmcv_patches.safe_load``: a
file that holds code is refused, nothing of it runs). DST must not be SRC;
it is written atomically. Keys that do not map, keys that are missing and
shapes that do not fit are listed and the file is refused. DST is an
mmengine checkpoint (``{'meta', 'state_dict'}``) for the configs in
``configs/s3fd/``.

Note: S3FD.pytorch feeds the network RGB images (mean subtracted in BGR order
then channels swapped), so its checkpoints want ``bgr_to_rgb=True`` with mean
``(123, 117, 104)``, which is what ``configs/_base_/models/s3fd_vgg16.py``
sets.
"""
import argparse
import importlib.util
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import List, Mapping, Tuple

import torch

# helpers shared by the converters, loaded by file path (tests load this
# file by path too, so its folder need not be on sys.path)
_spec = importlib.util.spec_from_file_location(
    '_converter_utils',
    osp.join(osp.dirname(osp.abspath(__file__)), '_converter_utils.py'))
cu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cu)

# ----------------------------------------------------------- key spec -----
VGG_CFG = [
    64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'C', 512, 512, 512, 'M', 512,
    512, 512, 'M'
]
SOURCE_CHANNELS = (256, 512, 512, 1024, 512, 256)
EXTRAS = ((256, 1024, 1), (512, 256, 3), (128, 512, 1), (256, 128, 3))
L2NORMS = (('L2Norm3_3', 256), ('L2Norm4_3', 512), ('L2Norm5_3', 512))


def _vgg_shapes() -> 'OrderedDict[int, Tuple[int, ...]]':
    """Conv index in the reference ``vgg`` list -> weight shape."""
    shapes = OrderedDict()
    idx, in_ch = 0, 3
    for v in VGG_CFG:
        if v in ('M', 'C'):
            idx += 1
        else:
            shapes[idx] = (v, in_ch, 3, 3)
            idx += 2  # conv + ReLU
            in_ch = v
    shapes[idx] = (1024, 512, 3, 3)  # conv6 (31)
    shapes[idx + 2] = (1024, 1024, 1, 1)  # conv7 (33)
    return shapes


def reference_shapes(num_classes: int = 2) -> 'OrderedDict[str, tuple]':
    """Every key of the reference S3FD state dict with its shape."""
    shapes = OrderedDict()
    for idx, w in _vgg_shapes().items():
        shapes[f'vgg.{idx}.weight'] = w
        shapes[f'vgg.{idx}.bias'] = (w[0], )
    for name, ch in L2NORMS:
        shapes[f'{name}.weight'] = (ch, )
    for i, (out_ch, in_ch, k) in enumerate(EXTRAS):
        shapes[f'extras.{i}.weight'] = (out_ch, in_ch, k, k)
        shapes[f'extras.{i}.bias'] = (out_ch, )
    for i, ch in enumerate(SOURCE_CHANNELS):
        shapes[f'loc.{i}.weight'] = (4, ch, 3, 3)
        shapes[f'loc.{i}.bias'] = (4, )
    for i, ch in enumerate(SOURCE_CHANNELS):
        out = 3 + (num_classes - 1) if i == 0 else num_classes
        shapes[f'conf.{i}.weight'] = (out, ch, 3, 3)
        shapes[f'conf.{i}.bias'] = (out, )
    return shapes


def backbone_shapes() -> 'OrderedDict[str, tuple]':
    """Every key of ``vgg16_reducedfc.pth`` with its shape."""
    shapes = OrderedDict()
    for idx, w in _vgg_shapes().items():
        shapes[f'{idx}.weight'] = w
        shapes[f'{idx}.bias'] = (w[0], )
    return shapes


_RULES = [
    (re.compile(r'^vgg\.(\d+)\.(weight|bias)$'), r'backbone.features.\1.\2'),
    (re.compile(r'^L2Norm3_3\.weight$'), 'backbone.l2_norms.0.weight'),
    (re.compile(r'^L2Norm4_3\.weight$'), 'backbone.l2_norms.1.weight'),
    (re.compile(r'^L2Norm5_3\.weight$'), 'backbone.l2_norms.2.weight'),
    (re.compile(r'^extras\.(\d)\.(weight|bias)$'), r'backbone.extras.\1.\2'),
    (re.compile(r'^loc\.(\d)\.(weight|bias)$'), r'bbox_head.reg_convs.\1.\2'),
    (re.compile(r'^conf\.(\d)\.(weight|bias)$'), r'bbox_head.cls_convs.\1.\2'),
]
_BACKBONE_RULE = (re.compile(r'^(\d+)\.(weight|bias)$'),
                  r'backbone.features.\1.\2')


def map_key(key: str) -> str:
    """Reference key -> mmdet_faces key (``KeyError`` if it does not map)."""
    for pattern, repl in _RULES:
        if pattern.match(key):
            return pattern.sub(repl, key)
    raise KeyError(key)


class ConversionError(ValueError):
    """The source does not fit the S3FD key layout."""


# ---------------------------------------------------------- conversion ----
def unwrap_checkpoint(obj) -> 'OrderedDict[str, torch.Tensor]':
    """Take the state dict out of a loaded checkpoint and drop a
    ``module.`` prefix."""
    if not isinstance(obj, Mapping):
        raise ConversionError(
            f'expected a state dict or a dict wrapping one, got {type(obj)}')
    for wrapper in ('weight', 'state_dict', 'model'):
        if wrapper in obj and isinstance(obj[wrapper], Mapping):
            obj = obj[wrapper]
            break
    return cu.strip_prefix(obj)


def _check(state: Mapping[str, torch.Tensor], spec: Mapping[str, tuple],
           what: str) -> None:
    unexpected = [k for k in state if k not in spec]
    missing = [k for k in spec if k not in state]
    bad_shape = [
        f'{k}: {tuple(state[k].shape)} (expected {spec[k]})' for k in spec
        if k in state and (not torch.is_tensor(state[k])
                           or tuple(state[k].shape) != tuple(spec[k]))
    ]
    report = cu.mismatch_report(
        f'not a {what} checkpoint:',
        unexpected,
        missing,
        bad_shape,
        unmapped_label='key(s) that do not map')
    if report:
        raise ConversionError(report)


def is_backbone_only(state: Mapping[str, torch.Tensor]) -> bool:
    """True for ``vgg16_reducedfc.pth``-style bare ``N.weight`` keys."""
    return len(state) > 0 and all(_BACKBONE_RULE[0].match(k) for k in state)


def convert_s3fd_state_dict(
    state_dict: Mapping[str, torch.Tensor]
) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """Map a reference state dict to mmdet_faces keys.

    Args:
        state_dict (Mapping): a loaded checkpoint (plain, ``{'epoch',
            'weight'}``, ``module.``-prefixed, or ``vgg16_reducedfc``).

    Returns:
        tuple: (new state dict, kind) with kind ``'full'`` or
        ``'backbone'``.

    Raises:
        ConversionError: listing keys that do not map, missing keys and
            shape mismatches.
    """
    state = unwrap_checkpoint(state_dict)
    out = OrderedDict()
    if is_backbone_only(state):
        _check(state, backbone_shapes(), 'vgg16_reducedfc (VGG16 backbone)')
        pattern, repl = _BACKBONE_RULE
        for k, v in state.items():
            out[pattern.sub(repl, k)] = v.clone()
        return out, 'backbone'
    _check(state, reference_shapes(), 'S3FD (yxlijun/S3FD.pytorch)')
    for k, v in state.items():
        out[map_key(k)] = v.clone()
    return out, 'full'


def convert(src: str, dst: str) -> str:
    """Convert file ``src`` to mmengine checkpoint ``dst``; returns kind."""
    cu.check_src_dst(src, dst)
    obj = cu.load_source(src)
    meta = {}
    if isinstance(obj, Mapping) and 'epoch' in obj:
        try:
            meta['epoch'] = int(obj['epoch'])
        except (TypeError, ValueError):
            pass
    state, kind = convert_s3fd_state_dict(obj)
    cu.save_converted(
        dst, state, src, 'yxlijun/S3FD.pytorch', kind=kind, **meta)
    return kind


def parse_args(argv: List[str] = None) -> argparse.Namespace:
    parser = cu.build_parser(
        'Convert S3FD.pytorch checkpoints (s3fd.pth, '
        'sfd_face.pth, sfd_face_checkpoint.pth, vgg16_reducedfc.pth) '
        'to mmdet_faces checkpoints')
    return parser.parse_args(argv)


def main(argv: List[str] = None) -> int:
    args = parse_args(argv)

    def done(kind: str) -> str:
        what = ('backbone only (use as init_cfg Pretrained with '
                "prefix='backbone.')"
                if kind == 'backbone' else 'full detector')
        return f'converted {args.src} -> {args.dst}: {what}'

    return cu.run_conversion(lambda: convert(args.src, args.dst),
                             ConversionError, f'error: {args.src}', done)


if __name__ == '__main__':
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if repo not in sys.path:
        sys.path.insert(0, repo)  # mmcv_patches (safe loading)
    sys.exit(main())
