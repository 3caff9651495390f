"""Checkpoint files a careless or hostile user passes (not a test module):
one that runs code when unpickled, and files that are no checkpoint."""
import glob
import hashlib
import os
import pickle

import torch

#: Every checkpoint converter, ``tools/model_converters/<name>.py``.
CONVERTERS = tuple(
    sorted(
        os.path.basename(p)[:-3] for p in glob.glob(
            os.path.join(
                os.path.dirname(
                    os.path.dirname(
                        os.path.dirname(os.path.abspath(__file__)))), 'tools',
                'model_converters', '*_to_mmdet.py'))))


class RunsCode:
    """Unpickling this calls ``os.system('touch MARKER')``."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def save_code_checkpoint(path, marker, legacy: bool = False) -> str:
    """An mmdet-looking checkpoint at ``path`` whose meta runs ``touch
    marker`` when loaded with ``weights_only=False``."""
    torch.save(
        dict(
            state_dict={'backbone.w': torch.zeros(2)},
            meta=dict(note=RunsCode(marker))),
        path,
        _use_new_zipfile_serialization=not legacy)
    return str(path)


def bad_checkpoint_files(folder) -> dict:
    """``{name: (path, words of its one-line error)}``: files that are no
    loadable checkpoint, written under ``folder`` (a ``pathlib.Path``)."""
    good = folder / 'good_src.pth'
    torch.save({'state_dict': {'w': torch.arange(1000.)}}, good)
    data = good.read_bytes()
    legacy = folder / 'legacy_src.pth'
    torch.save({'w': torch.arange(1000.)},
               legacy,
               _use_new_zipfile_serialization=False)
    contents = {
        'empty': (b'', 'is empty (0 bytes)'),
        'random': (bytes(range(7, 256)) * 8, 'not a PyTorch checkpoint'),
        'truncated': (data[:len(data) // 2], 'truncated or corrupt'),
        'truncated_legacy':
        (legacy.read_bytes()[:300], 'truncated or corrupt'),
        'text': (b'model: retinaface\n', 'is a text file'),
        'pickle': (pickle.dumps({'w': 1}), 'plain Python pickle'),
    }
    out = {}
    for name, (content, words) in contents.items():
        path = folder / f'{name}.pth'
        path.write_bytes(content)
        out[name] = (str(path), words)
    out['missing'] = (str(folder / 'missing.pth'), 'checkpoint not found')
    return out


def tree_digest(folder) -> dict:
    """``{relative path: sha256}`` of every file under ``folder``."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, folder)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out
