"""Whether a checkpoint's weights fit a model.

torch's strict ``load_state_dict`` answers a checkpoint of another model
(an S3FD checkpoint given with a RetinaFace config, another width) with a
multi-line ``RuntimeError`` listing every key, and mmengine's non-strict
loading (mmdet's ``DetInferencer`` and ``init_detector``) with a warning
and partly random weights. The inference entry points check with
:func:`check_state_dict_fits` instead: one line naming the checkpoint and
summarising what does not fit.
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List

import torch

__all__ = [
    'CheckpointFitError', 'check_state_dict_fits', 'strict_checkpoint_loading'
]

#: keys shown per kind of mismatch
_SHOWN = 3


class CheckpointFitError(ValueError):
    """A checkpoint whose weights do not fit the model of the config."""


def _examples(keys: List[str]) -> str:
    more = len(keys) - _SHOWN
    return ', '.join(
        keys[:_SHOWN]) + (f', ... ({more} more)' if more > 0 else '')


def check_state_dict_fits(model: torch.nn.Module, state_dict: Dict,
                          checkpoint: str) -> None:
    """Raise :class:`CheckpointFitError` unless ``state_dict`` loads
    into ``model`` strictly: every key of the model there (a BatchNorm's
    ``num_batches_tracked`` may be absent, as torch allows), no other key,
    the same shapes.

    Args:
        model (torch.nn.Module): The model built from the config.
        state_dict (dict): The checkpoint's weights, keys as the model's
            (``module.`` prefixes already removed).
        checkpoint (str): The checkpoint's path or URL, for the message.
    """
    own = model.state_dict()
    missing = [
        k for k in own
        if k not in state_dict and not k.endswith('.num_batches_tracked')
    ]
    unexpected = [k for k in state_dict if k not in own]
    shapes = []
    for k, v in state_dict.items():
        if k in own and isinstance(v, torch.Tensor) and \
                v.shape != own[k].shape:
            shapes.append(f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}')
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f'{len(missing)} of the model\'s {len(own)} keys '
                     f'missing ({_examples(missing)})')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected keys '
                     f'({_examples(unexpected)})')
    if shapes:
        parts.append(f'{len(shapes)} shape mismatches, checkpoint vs model '
                     f'({_examples(shapes)})')
    hint = ('a checkpoint of another detector?' if 2 * len(missing) > len(own)
            else 'a checkpoint of another architecture or width?')
    raise CheckpointFitError(
        f'checkpoint {checkpoint} does not fit the model of the config '
        f'({type(model).__name__}): {"; ".join(parts)}; {hint}')


@contextmanager
def strict_checkpoint_loading(checkpoint: str) -> Iterator[None]:
    """Within the block, mmengine's ``load_state_dict`` (which mmdet's
    ``init_detector`` and ``DetInferencer`` call, non-strictly) first
    checks the weights with :func:`check_state_dict_fits`.

    Args:
        checkpoint (str): The checkpoint being loaded, for the message.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import checkpoint as mmengine_checkpoint
    stock = mmengine_checkpoint.load_state_dict

    def load_state_dict(module, state_dict, strict=False, logger=None):
        check_state_dict_fits(
            module.module if is_model_wrapper(module) else module, state_dict,
            checkpoint)
        return stock(module, state_dict, strict, logger)

    mmengine_checkpoint.load_state_dict = load_state_dict
    try:
        yield
    finally:
        mmengine_checkpoint.load_state_dict = stock
