"""Checkpoints of other projects' layouts, refused where mmengine loads.

A RetinaFace (biubug6, bubbliiiing, yakhyo, MindSpore), S3FD.pytorch or
insightface SCRFD file loaded as it is into an mmdet model matches none of
its keys: mmengine warns about missing keys and the model keeps its random
weights (AP 0). Such a file is recognised by its key prefixes
(:func:`reference_layout`) and refused in one line naming the converter
(:class:`ReferenceCheckpointError`), by :class:`FaceInferencer` /
``FaceDetector`` and, through the ``checkpoint.refuse_reference_layouts``
patch, on mmengine's load path: the runner's ``load_from`` and
``tools/test.py CHECKPOINT``, ``load_checkpoint``, mmdet's
``init_detector`` and ``DetInferencer``.
"""
from collections import OrderedDict
from typing import Any, Mapping, Optional

import torch

from ._patching import original, patch, replace_attr
from .checkpoint import CheckpointLoadError

__all__ = [
    'ReferenceCheckpointError', 'reference_layout', 'reference_state_dict',
    'check_not_reference', 'converter_hint'
]

#: the reference families: (name, architecture, key prefixes after a
#: ``module.`` prefix), the first match wins
REFERENCE_FAMILIES = (
    ('yakhyo RetinaFace', 'retinaface', ('fx.', 'class_head.',
                                         'landmark_head.')),
    ('MindSpore RetinaFace', 'retinaface', ('base.', 'network.base.')),
    ('biubug6 / bubbliiiing RetinaFace', 'retinaface',
     ('body.', 'ClassHead.', 'BboxHead.', 'LandmarkHead.')),
    ('S3FD.pytorch', 's3fd', ('vgg.', 'L2Norm3_3.', 'extras.', 'loc.',
                              'conf.')),
    # insightface's mmdet 2.x layout shares backbone. / bbox_head.
    ('insightface SCRFD', 'scrfd', ('bbox_head.cls_stride_convs.',
                                    'bbox_head.stride_cls.')),
)
#: the converter of each architecture
CONVERTERS = {
    'retinaface': 'tools/model_converters/retinaface_to_mmdet.py',
    's3fd': 'tools/model_converters/s3fd_to_mmdet.py',
    'scrfd': 'tools/model_converters/scrfd_to_mmdet.py',
}
# checkpoints of a reference layout that mmengine's loader read, by id, with
# their file names (for the error); a few at most, dropped when checked
_LOADED: 'OrderedDict[int, tuple]' = OrderedDict()


class ReferenceCheckpointError(CheckpointLoadError):
    """A checkpoint in another project's layout: convert it first."""


def reference_state_dict(checkpoint: Any) -> Optional[Mapping]:
    """The state dict of a loaded checkpoint: its ``state_dict``, the
    ``model`` / ``weight`` dict reference trainers save, or the checkpoint
    itself; None when it is no dict."""
    if not isinstance(checkpoint, Mapping):
        return None
    if 'state_dict' in checkpoint:
        return checkpoint['state_dict']
    for key in ('model', 'weight'):
        inner = checkpoint.get(key)
        if isinstance(inner, Mapping) and inner and all(
                isinstance(v, torch.Tensor) for v in inner.values()):
            return inner
    return checkpoint


def _keys(state_dict: Mapping) -> list:
    return [
        k[len('module.'):] if k.startswith('module.') else k
        for k in state_dict if isinstance(k, str)
    ]


def reference_layout(state_dict: Mapping) -> Optional[tuple]:
    """The reference family of ``state_dict``'s keys.

    Args:
        state_dict (Mapping): A state dict (``module.`` prefixes allowed).

    Returns:
        tuple | None: ``(family, architecture, prefixes)`` of the first
        entry of :data:`REFERENCE_FAMILIES` with a key of one of its
        prefixes, e.g. ``('S3FD.pytorch', 's3fd', ...)``; None for no
        reference layout.
    """
    if not isinstance(state_dict, Mapping):
        return None
    keys = _keys(state_dict)
    for family in REFERENCE_FAMILIES:
        if any(k.startswith(family[2]) for k in keys):
            return family
    return None


def converter_hint(name: str, family: str, arch: str) -> str:
    """The one-line refusal of file ``name`` of reference ``family``."""
    return (f'{name} is a {family} checkpoint, not an mmdet one: convert '
            f'it first with python {CONVERTERS[arch]} {name} OUT.pth')


def check_not_reference(checkpoint: Any,
                        name: str,
                        model: Optional[torch.nn.Module] = None) -> None:
    """Refuse a checkpoint of a reference layout in one line.

    Args:
        checkpoint (Any): The loaded checkpoint (or state dict).
        name (str): Its file name, for the message.
        model (torch.nn.Module, optional): The model it is loaded into: a
            model that has the reference-layout keys itself takes it.

    Raises:
        ReferenceCheckpointError: It is a reference checkpoint.
    """
    state_dict = reference_state_dict(checkpoint)
    found = reference_layout(state_dict)
    if found is None:
        return
    family, arch, prefixes = found
    if model is not None:
        own = set(model.state_dict())
        ref = [k for k in _keys(state_dict) if k.startswith(prefixes)]
        if all(k in own for k in ref):
            return
    raise ReferenceCheckpointError(converter_hint(name, family, arch))


@classmethod
def _load_and_name(cls, filename, map_location=None, logger='current'):
    """``CheckpointLoader.load_checkpoint`` that remembers the file name of
    a reference-layout checkpoint for :func:`_load_to_model`'s error."""
    raw = original(_load_and_name.__func__)
    checkpoint = raw.__get__(None, cls)(filename, map_location, logger)
    if reference_layout(reference_state_dict(checkpoint)) is not None:
        _LOADED[id(checkpoint)] = (checkpoint, str(filename))
        while len(_LOADED) > 4:
            _LOADED.popitem(last=False)
    return checkpoint


def _load_to_model(model, checkpoint, *args, **kwargs):
    """mmengine's ``_load_checkpoint_to_model`` after
    :func:`check_not_reference`."""
    _, name = _LOADED.pop(id(checkpoint), (None, 'the checkpoint'))
    check_not_reference(checkpoint, name, model)
    return original(_load_to_model)(model, checkpoint, *args, **kwargs)


@patch('checkpoint.refuse_reference_layouts')
def patch_refuse_reference_layouts():
    """Install :func:`_load_to_model` where mmengine and mmdet load a
    checkpoint into a model, and :func:`_load_and_name` on mmengine's
    ``CheckpointLoader``.

    Upstream gap: mmengine loads any state dict non-strictly; a reference
    checkpoint (biubug6 ``body.*``, S3FD.pytorch ``vgg.*``, insightface
    SCRFD ``bbox_head.cls_stride_convs.*``) loaded by ``load_from``,
    ``tools/test.py``, ``init_detector`` or ``DetInferencer`` matches no
    key, only warns and tests a random model. It is now refused with the
    converter to run; a model whose own keys are the reference ones still
    loads it.
    """
    import mmengine.runner.checkpoint as ckpt_mod
    import mmengine.runner.runner as runner_mod
    owners = [ckpt_mod, runner_mod]
    for name in ('mmengine.infer.infer', 'mmdet.apis.det_inferencer'):
        try:
            owners.append(__import__(name, fromlist=['_']))
        except ImportError:
            pass
    changed = replace_attr(ckpt_mod.CheckpointLoader, 'load_checkpoint',
                           _load_and_name)
    for owner in owners:
        if hasattr(owner, '_load_checkpoint_to_model'):
            changed |= replace_attr(owner, '_load_checkpoint_to_model',
                                    _load_to_model)
    return changed or 'already installed'
