"""Bookkeeping for the patches: each one is applied at most once per process.

A patch is a function decorated with :func:`patch`. Calling it returns
``True`` when it changed something, or a string saying why it was not needed
(for example ``'upstream already passes weights_only'``). :func:`apply_all`
runs every registered patch once; :func:`applied_patches` and
:func:`patch_report` say what happened.
"""
from collections import OrderedDict
from typing import Callable, Dict, List, Union

_PATCHES: 'OrderedDict[str, Callable[[], Union[bool, str]]]' = OrderedDict()
_RESULTS: 'OrderedDict[str, str]' = OrderedDict()

ORIGINAL_ATTR = '__mmcv_patches_original__'


def patch(name: str) -> Callable:
    """Register a patch function under ``name`` (str).

    The function takes no arguments and returns ``True`` if it patched
    something, otherwise a str with the reason it was skipped.
    """

    def deco(fn: Callable[[], Union[bool, str]]) -> Callable:
        if name in _PATCHES and _PATCHES[name] is not fn:
            raise KeyError(f'patch {name!r} is registered twice')
        _PATCHES[name] = fn
        return fn

    return deco


def apply_all() -> Dict[str, str]:
    """Apply every registered patch that has not run yet (idempotent).

    Returns:
        dict[str, str]: patch name -> ``'applied'`` or ``'skipped: <why>'``.
    """
    for name, fn in _PATCHES.items():
        if name in _RESULTS:
            continue
        result = fn()
        _RESULTS[name] = 'applied' if result is True else f'skipped: {result}'
    return dict(_RESULTS)


def apply_now(name: str) -> str:
    """Apply the registered patch ``name`` at once (a patch that must
    precede imports done before :func:`apply_all`); once per process.

    Returns:
        str: ``'applied'`` or ``'skipped: <why>'``.
    """
    if name not in _RESULTS:
        result = _PATCHES[name]()
        _RESULTS[name] = 'applied' if result is True else f'skipped: {result}'
    return _RESULTS[name]


def applied_patches() -> List[str]:
    """Names (list[str]) of the patches that changed something here."""
    return [k for k, v in _RESULTS.items() if v == 'applied']


def patch_report() -> Dict[str, str]:
    """Every patch (dict[str, str]): ``'applied'`` or ``'skipped: <why>'``."""
    return dict(_RESULTS)


def replace_attr(owner: object, attr: str, new: Callable) -> bool:
    """Set ``owner.attr = new`` once, keeping the original on ``new``.

    Args:
        owner (object): module or class holding the attribute.
        attr (str): attribute name.
        new (callable): replacement; gets ``__mmcv_patches_original__``.

    Returns:
        bool: False if ``owner.attr`` was already replaced by this package.
    """
    current = getattr(owner, attr)
    # Unwrap staticmethod/classmethod objects taken from a class __dict__.
    raw = owner.__dict__.get(attr, current) if isinstance(owner, type) \
        else current
    if hasattr(raw, ORIGINAL_ATTR) or hasattr(
            getattr(raw, '__func__', None), ORIGINAL_ATTR):
        return False
    target = new.__func__ if isinstance(new,
                                        (staticmethod, classmethod)) else new
    setattr(target, ORIGINAL_ATTR, raw)
    setattr(owner, attr, new)
    return True


def original(fn: Callable) -> Callable:
    """The function ``fn`` replaced (or ``fn`` itself if not a patch)."""
    return getattr(fn, ORIGINAL_ATTR, fn)
