"""The project's one number parser (mmdet_faces/utils/number_parser.py)."""
import re

import numpy as np
import pytest

from mmdet_faces.utils import number_parser, parse_numbers, token_bounds


def _random_tokens(rng, n):
    """Decimals with 1-22 digits, signs, dots at any place, exponents."""
    tokens = []
    for _ in range(n):
        digits = ''.join(
            rng.choice(list('0123456789'), int(rng.integers(1, 23))))
        dot = int(rng.integers(0, len(digits) + 1))
        tok = digits[:dot] + ('.' if rng.random() < 0.8 else '') + \
            digits[dot:]
        if rng.random() < 0.3:
            tok = str(rng.choice(['+', '-'])) + tok
        if rng.random() < 0.05:
            tok += f'e{int(rng.integers(-300, 300))}'
        tokens.append(tok)
    return tokens


@pytest.mark.parametrize('chunk', [7, 1 << 15])
def test_equals_float_bit_for_bit(monkeypatch, chunk):
    # small chunks: tokens of one chunk of any width next to another
    monkeypatch.setattr(number_parser, 'CHUNK_TOKENS', chunk)
    tokens = _random_tokens(np.random.default_rng(0), 3000) + [
        '0', '-0', '-0.0', '.5', '5.', '+3', '007.100', '1_0', 'nan', '-inf',
        '123456789012345', '1234567890123456', '4.0000000000000001'
    ]
    seps = [' ', '\t', '\r\n', '\n\n ', '\x0b']
    text = ''.join(t + seps[i % len(seps)] for i, t in enumerate(tokens))
    values, bad = parse_numbers(text.encode())
    expected = np.array([float(t) for t in tokens])
    assert bad == -1
    assert values.tobytes() == expected.tobytes()  # nan and -0.0 included


def test_given_order_and_first_bad_token():
    data = b'1 x 2.5 3..1 4'
    starts, ends = token_bounds(np.frombuffer(data, dtype=np.uint8))
    assert [data[s:e] for s, e in zip(starts, ends)] == \
        [b'1', b'x', b'2.5', b'3..1', b'4']
    order = np.array([4, 3, 2, 1, 0])
    values, bad = parse_numbers(data, starts[order], ends[order])
    assert bad == 1  # '3..1', the first bad one in the given order
    values, bad = parse_numbers(data, starts[[0, 2, 4]], ends[[0, 2, 4]])
    assert bad == -1 and values.tolist() == [1.0, 2.5, 4.0]


def test_pattern_refuses_what_float_takes():
    pattern = re.compile(rb'[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?')
    assert parse_numbers(b'1 1_0 2', pattern=pattern)[1] == 1
    assert parse_numbers(b'1 nan', pattern=pattern)[1] == 1
    values, bad = parse_numbers(b'1 1_0 1e3', pattern=None)
    assert bad == -1 and values.tolist() == [1.0, 10.0, 1000.0]
    values, bad = parse_numbers(b'-1.5e-3 2', pattern=pattern)
    assert bad == -1 and values.tolist() == [-1.5e-3, 2.0]


def test_empty_and_blank_text():
    for data in (b'', b'  \n\t '):
        values, bad = parse_numbers(data)
        assert bad == -1 and values.shape == (0, )
