# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Exact, vectorised parsing of blank-separated numbers in text.

The one number parser of the project: the WIDER Face annotation readers
(:mod:`mmdet_faces.datasets.widerface_io`) and the prediction reader of the
evaluation (:mod:`mmdet_faces.evaluation.functional.widerface_preds`) both
use :func:`parse_numbers`.

A token ``[+-]digits[.digits]`` with at most 15 digits is parsed with numpy,
column by column of its characters, into an exact integer mantissa and a
number of fraction digits: ``mantissa / 10**fraction`` divides two exact
doubles, so its correctly rounded result is the correctly rounded decimal
value, the one Python's ``float`` gives. Other tokens (exponents, more
digits, ``nan``, ...) go through ``float`` one by one. Tokens are parsed in
chunks of :data:`CHUNK_TOKENS`, which keeps the per-column arrays in the CPU
cache (1.6-1.8x faster than one pass over a 6-22 MB file).
"""
import re
from typing import Optional, Tuple

import numpy as np

# Longest token parsed vectorised: a sign, 15 digits and a dot.
_MAX_FAST_LEN = 17
# blanks after the text, so that every token can be read _MAX_FAST_LEN wide
_PAD = b' ' * (_MAX_FAST_LEN + 1)
_POW10 = 10.0**np.arange(23)  # exact doubles
#: Tokens parsed per vectorised step.
CHUNK_TOKENS = 1 << 15


def token_bounds(u8: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Offsets of the blank-separated tokens of a text.

    Args:
        u8 (np.ndarray): The text as uint8; bytes <= 32 (space, tab, CR, LF
            and other control characters) are blanks.

    Returns:
        tuple[np.ndarray, np.ndarray]: (T,) int64 starts and ends: token
        ``k`` is ``u8[starts[k]:ends[k]]``.
    """
    nonws = u8 > 32
    edge = nonws.copy()
    edge[1:] &= ~nonws[:-1]
    starts = np.flatnonzero(edge)
    np.copyto(edge, nonws)
    edge[:-1] &= ~nonws[1:]
    ends = np.flatnonzero(edge) + 1
    return starts, ends


def _parse_plain(view: np.ndarray, starts: np.ndarray,
                 ends: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Values of the plain decimal tokens among ``starts``/``ends`` and a
    mask of those (the other values are meaningless)."""
    T = len(starts)
    length = ends - starts
    width = int(min(length.max(), _MAX_FAST_LEN)) if T else 0
    # (width, T) characters, row j = the j-th character of every token
    chars = np.ascontiguousarray(view[starts, :width].T)
    first = chars[0] if T else np.zeros(0, np.uint8)
    neg = first == 45
    sign = neg | (first == 43)
    mant = np.zeros(T)
    n_dig = np.zeros(T, dtype=np.int64)
    frac = np.zeros(T, dtype=np.int64)
    seen_dot = np.zeros(T, dtype=bool)
    bad = length > _MAX_FAST_LEN
    for j in range(width):
        c = chars[j]
        inside = length > j
        digit = c - np.uint8(48)  # wraps around below '0'
        is_digit = (digit < 10) & inside
        is_dot = (c == 46) & inside
        other = inside & ~is_digit & ~is_dot
        if j == 0:
            other &= ~sign
        bad |= other | (is_dot & seen_dot)
        seen_dot |= is_dot
        # Horner on the digits only (exact while below 2**53)
        mant = np.where(is_digit, mant * 10 + digit, mant)
        n_dig += is_digit
        frac += is_digit & seen_dot
    plain = ~bad & (n_dig >= 1) & (n_dig <= 15)
    values = mant / _POW10[np.minimum(frac, 22)]
    np.negative(values, out=values, where=neg)
    return values, plain


def parse_numbers(
        data: bytes,
        starts: Optional[np.ndarray] = None,
        ends: Optional[np.ndarray] = None,
        pattern: Optional[re.Pattern] = None) -> Tuple[np.ndarray, int]:
    """Parse blank-separated tokens exactly as Python's ``float``.

    Args:
        data (bytes): The text.
        starts (np.ndarray, optional): (T,) token starts in ``data``, in the
            order wanted (e.g. column by column). Defaults to every token
            of ``data`` in text order (:func:`token_bounds`).
        ends (np.ndarray, optional): (T,) token ends, with ``starts``.
        pattern (re.Pattern, optional): A bytes pattern that every token
            outside the vectorised form (``[+-]digits[.digits]``, at most
            15 digits) must match in full to be a number, e.g. to refuse
            ``nan`` or ``1_0``, which ``float`` takes. Defaults to None
            (what ``float`` takes).

    Returns:
        tuple[np.ndarray, int]: (T,) float64 values, and the index of the
        first token (in the order of ``starts``) that is not a number, -1 if
        none (the values are then incomplete).
    """
    u8 = np.frombuffer(data + _PAD, dtype=np.uint8)
    if starts is None:
        starts, ends = token_bounds(u8)
    T = len(starts)
    view = np.lib.stride_tricks.as_strided(
        u8,
        shape=(len(u8) - _MAX_FAST_LEN, _MAX_FAST_LEN),
        strides=(1, 1),
        writeable=False)
    values = np.empty(T)
    plain = np.empty(T, dtype=bool)
    for a in range(0, T, CHUNK_TOKENS):
        b = min(a + CHUNK_TOKENS, T)
        values[a:b], plain[a:b] = _parse_plain(view, starts[a:b], ends[a:b])
    for k in np.flatnonzero(~plain).tolist():
        token = data[int(starts[k]):int(ends[k])]
        if pattern is not None and not pattern.fullmatch(token):
            return values, k
        try:
            values[k] = float(token)
        except ValueError:
            return values, k
    return values, -1
