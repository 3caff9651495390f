"""The synthetic data generators never overwrite a data set they did not
write: `make data` / `make demo` on a folder holding real WIDER Face data
refuses and leaves every byte (issue #11, item 2)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.test_mmcv_patches.checkpoint_cases import tree_digest
from tests.testing import REPO_ROOT

# what `make data` (and so `make demo`) runs
CLI = os.path.join(REPO_ROOT, 'tools', 'dataset_converters',
                   'gen_synthetic_widerface.py')


def _real_layout(tiny_widerface, root):
    """A WIDER layout that no generator marked: labels, the val list and
    the four ground-truth .mat files, as a user's real data set."""
    for sub in ('train/label.txt', 'val/wider_val.txt', 'ground_truth'):
        src = os.path.join(tiny_widerface, sub)
        dst = os.path.join(root, sub)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, dst)


def test_a_real_data_set_is_never_overwritten(tiny_widerface, tmp_path):
    root = str(tmp_path / 'widerface')
    _real_layout(tiny_widerface, root)
    before = tree_digest(root)
    res = subprocess.run([sys.executable, CLI, root, '--quiet'],
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('gen_synthetic_widerface: '
                                               'error: ')
    assert 'was not written by this generator (it holds ground_truth/, ' \
        'train/, val/)' in err[0] and '--force' in err[0]
    assert tree_digest(root) == before

    # with --force it is the user's decision
    from tools.dataset_converters.synthetic import widerface
    assert widerface.main([
        root, '--num-images', '2', '--num-val', '1', '--max-size', '128',
        '--quiet', '--force'
    ]) == 0
    assert tree_digest(root) != before


def test_own_folders_are_regenerated(tmp_path):
    """A folder of this generator, complete or interrupted, is its own."""
    from tools.dataset_converters.synthetic import (generate_coco,
                                                    generate_widerface)
    root = str(tmp_path / 'wf')
    kw = dict(num_train=1, num_val=1, max_size=128, progress=False)
    generate_widerface(root, **kw)
    os.remove(os.path.join(root, '.complete'))
    with open(os.path.join(root, '.in_progress'), 'w') as f:
        json.dump(dict(generator='mmdet_faces.synthetic_widerface'), f)
    generate_widerface(root, **kw)  # an interrupted run of its own
    assert sorted(f for f in os.listdir(root)
                  if f.startswith('.')) == ['.complete']
    # ... but another generator's folder is not the COCO generator's
    before = tree_digest(root)
    with pytest.raises(FileExistsError, match='not written by this gen'):
        generate_coco(root, **kw)
    assert tree_digest(root) == before
