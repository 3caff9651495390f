# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Bookkeeping of the training images skipped as unreadable.

:class:`~mmdet_faces.datasets.transforms.LoadFaceImage` calls
:func:`record_skipped_image` for every image it skips. The record goes to a
per-process file in the folder named by the environment variable
:data:`SKIPPED_IMAGES_DIR_ENV` (set by ``SkippedImagesHook`` before the data
loader starts its workers, which inherit it), so the records of every worker
process reach the hook, whatever the number of workers, and nothing is
recorded without the hook.
"""
import json
import os
import os.path as osp
from typing import Dict, List

__all__ = [
    'SKIPPED_IMAGES_DIR_ENV', 'record_skipped_image', 'read_skipped_images'
]

#: Environment variable naming the folder of the per-process record files.
SKIPPED_IMAGES_DIR_ENV = 'MMDET_FACES_SKIPPED_IMAGES_DIR'


def record_skipped_image(path: str, error: str) -> None:
    """Record that ``path`` was skipped because of ``error`` (str).

    One JSON line appended to ``<dir>/<pid>.jsonl``; a no-op when
    :data:`SKIPPED_IMAGES_DIR_ENV` is not set or the folder is gone.
    """
    folder = os.environ.get(SKIPPED_IMAGES_DIR_ENV)
    if not folder:
        return
    line = json.dumps(dict(path=str(path), error=str(error))) + '\n'
    try:
        with open(osp.join(folder, f'{os.getpid()}.jsonl'), 'a') as f:
            f.write(line)
    except OSError:
        pass  # the run is over (folder removed): nothing to report to


def read_skipped_images(folder: str, offsets: Dict[str, int]) -> List[dict]:
    """The records written to ``folder`` since the last call.

    Args:
        folder (str): The record folder.
        offsets (dict): File name -> bytes already read; updated in place.

    Returns:
        list[dict]: ``{'path': str, 'error': str}`` records, in file order.
    """
    records = []
    if not osp.isdir(folder):
        return records
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.jsonl'):
            continue
        with open(osp.join(folder, name), 'rb') as f:
            f.seek(offsets.get(name, 0))
            data = f.read()
        end = data.rfind(b'\n') + 1  # a line being written is read later
        offsets[name] = offsets.get(name, 0) + end
        records += [json.loads(ln) for ln in data[:end].splitlines() if ln]
    return records
