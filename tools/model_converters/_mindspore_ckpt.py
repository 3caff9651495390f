# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Read MindSpore ``.ckpt`` files without MindSpore.

A MindSpore checkpoint is a protobuf ``Checkpoint`` message (proto2,
``mindspore/ccsrc/utils/checkpoint.proto``)::

    message Checkpoint {
        message Value { required string tag = 1;
                        required TensorProto tensor = 2; }
        repeated Value value = 1;
    }
    message TensorProto { repeated int64 dims = 1;
                          required string tensor_type = 2;
                          required bytes tensor_content = 3; }

``save_checkpoint`` writes one serialised ``Checkpoint`` per value, one
after the other (which protobuf reads as one message), splits tensors larger
than 512 MiB (``serialization.py``'s ``SLICE_SIZE = 512 * 1024`` KB) into
consecutive values with the same tag, writes a scalar with
``dims == [0]`` and may end the file with ``b'crc_num'`` and a 10-byte CRC.
This module reads that wire format directly (numpy and the standard library
only): nothing in the file is executed. Encrypted checkpoints (``enc_key``)
cannot be read.
"""
import zlib
from collections import OrderedDict
from typing import Dict, Iterator, List, Tuple, Union

import numpy as np

__all__ = [
    'MindSporeCheckpointError', 'read_mindspore_checkpoint',
    'looks_like_mindspore_checkpoint'
]

# MindSpore tensor_type -> numpy dtype (little endian, as MindSpore writes)
DTYPES = {
    'Int8': np.int8,
    'UInt8': np.uint8,
    'Int16': np.int16,
    'UInt16': np.uint16,
    'Int32': np.int32,
    'UInt32': np.uint32,
    'Int64': np.int64,
    'UInt64': np.uint64,
    'Float16': np.float16,
    'Float32': np.float32,
    'Float64': np.float64,
    'Bool': np.bool_,
}
_CRC_MARK = b'crc_num'


class MindSporeCheckpointError(ValueError):
    """A file that is not a readable MindSpore checkpoint."""


def _varint(buf: memoryview, pos: int, end: int) -> Tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise MindSporeCheckpointError('truncated varint')
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise MindSporeCheckpointError('varint longer than 64 bits')


def _fields(buf: memoryview, pos: int,
            end: int) -> Iterator[Tuple[int, int, Union[int, memoryview]]]:
    """Yield ``(field_number, wire_type, value)`` of one message."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos, end)
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            if pos + length > end:
                raise MindSporeCheckpointError(
                    f'field {field} runs past the end of its message')
            value = buf[pos:pos + length]
            pos += length
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise MindSporeCheckpointError(
                f'unsupported protobuf wire type {wire} (field {field})')
        if pos > end:
            raise MindSporeCheckpointError('truncated field')
        yield field, wire, value


def _tensor(buf: memoryview) -> Tuple[List[int], str, memoryview]:
    dims: List[int] = []
    dtype, content = None, None
    for field, wire, value in _fields(buf, 0, len(buf)):
        if field == 1 and wire == 0:  # proto2 default: one varint per dim
            dims.append(value)
        elif field == 1 and wire == 2:  # packed
            p = 0
            while p < len(value):
                d, p = _varint(value, p, len(value))
                dims.append(d)
        elif field == 2 and wire == 2:
            dtype = bytes(value).decode('utf-8')
        elif field == 3 and wire == 2:
            content = value
    if dtype is None or content is None:
        raise MindSporeCheckpointError(
            'a TensorProto without tensor_type or tensor_content')
    return dims, dtype, content


def _strip_crc(data: bytes) -> bytes:
    if len(data) >= 17 and data[-17:-10] == _CRC_MARK:
        return data[:-17]
    return data


def looks_like_mindspore_checkpoint(head: bytes) -> bool:
    """Whether the first bytes of a file can start a MindSpore checkpoint:
    field 1 (``value``), length-delimited, whose first field is the tag."""
    return len(head) >= 4 and head[0] == 0x0A and 0x0A in head[1:12]


def read_mindspore_checkpoint(
        path: str) -> 'OrderedDict[str, Union[np.ndarray, int, float]]':
    """Read a MindSpore ``.ckpt`` into ``{name: array}`` (file order).

    Args:
        path (str): The checkpoint file.

    Returns:
        OrderedDict: Parameter name -> numpy array (with the saved shape);
        scalars (``dims == [0]``) are Python ints / floats, as MindSpore's
        ``load_checkpoint`` gives them.

    Raises:
        MindSporeCheckpointError: naming the file, when it is not a
            protobuf checkpoint, is truncated, has an unknown tensor type
            or a tensor whose bytes do not fill its shape.
    """
    with open(path, 'rb') as f:
        data = _strip_crc(f.read())
    if not data:
        raise MindSporeCheckpointError(f'{path}: empty file')
    buf = memoryview(data)
    parts: Dict[str, List] = OrderedDict()
    try:
        for field, wire, value in _fields(buf, 0, len(buf)):
            if field != 1 or wire != 2:
                raise MindSporeCheckpointError(
                    f'unexpected top-level field {field} (wire type {wire})'
                    '; a MindSpore checkpoint holds only field 1 (value)')
            tag, tensor = None, None
            for f2, w2, v2 in _fields(value, 0, len(value)):
                if f2 == 1 and w2 == 2:
                    tag = bytes(v2).decode('utf-8')
                elif f2 == 2 and w2 == 2:
                    tensor = _tensor(v2)
            if tag is None or tensor is None:
                raise MindSporeCheckpointError('a value without tag/tensor')
            entry = parts.setdefault(tag, [tensor[0], tensor[1], []])
            if entry[0] != tensor[0] or entry[1] != tensor[1]:
                raise MindSporeCheckpointError(
                    f'{tag!r}: slices with different shapes or types')
            entry[2].append(tensor[2])
    except UnicodeDecodeError as e:
        raise MindSporeCheckpointError(
            f'{path}: not a MindSpore checkpoint ({e})') from None
    except MindSporeCheckpointError as e:
        raise MindSporeCheckpointError(
            f'{path}: not a readable MindSpore checkpoint: {e}') from None
    if not parts:
        raise MindSporeCheckpointError(f'{path}: no parameters')

    out: 'OrderedDict[str, Union[np.ndarray, int, float]]' = OrderedDict()
    for tag, (dims, dtype, chunks) in parts.items():
        if dtype not in DTYPES:
            raise MindSporeCheckpointError(
                f'{path}: {tag!r} has tensor type {dtype!r} (supported: '
                f'{", ".join(DTYPES)})')
        np_dtype = np.dtype(DTYPES[dtype]).newbyteorder('<')
        raw = b''.join(bytes(c) for c in chunks)
        if len(raw) % np_dtype.itemsize:
            raise MindSporeCheckpointError(
                f'{path}: {tag!r} has {len(raw)} bytes, not a multiple of '
                f'{dtype} ({np_dtype.itemsize} bytes)')
        arr = np.frombuffer(raw, np_dtype).astype(np_dtype.newbyteorder('='))
        if dims == [0]:  # a scalar
            if arr.size != 1:
                raise MindSporeCheckpointError(
                    f'{path}: scalar {tag!r} holds {arr.size} values')
            out[tag] = arr[0].item()
            continue
        n = int(np.prod(dims)) if dims else 1
        if arr.size != n:
            raise MindSporeCheckpointError(
                f'{path}: {tag!r} has {arr.size} values for shape '
                f'{tuple(dims)}')
        out[tag] = arr.reshape(dims) if dims not in ([1], []) else arr
    return out


def crc_trailer(data: bytes) -> bytes:
    """The trailer MindSpore appends with ``crc_check=True`` (for tests)."""
    return _CRC_MARK + zlib.crc32(data).to_bytes(10, 'big')
