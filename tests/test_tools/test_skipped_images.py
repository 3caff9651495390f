"""tools/train.py with unreadable training images: each epoch names them all
(every data-loader worker gathered), and a set of nothing but unreadable
images stops with one clear error (issue #11, item 6)."""
import json
import os.path as osp
import shutil

import pytest

from tests.test_mmcv_patches.checkpoint_cases import tree_digest
from tests.testing import (REPO_ROOT, flatten_cfg_options, run_tool_in_process,
                           tiny_run_options)

DEMO_CFG = osp.join(REPO_ROOT, 'configs', 'retinaface',
                    'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')


def _train(work: str, opts: dict) -> None:
    """``tools/train.py DEMO_CFG --work-dir WORK --cfg-options OPTS``."""
    run_tool_in_process('train',
                        [DEMO_CFG, '--work-dir', work, '--cfg-options'] +
                        flatten_cfg_options(opts))


def _options(root: str, **extra) -> dict:
    opts = tiny_run_options(
        {
            'train_dataloader.dataset.data_root': root.rstrip('/') + '/',
            'train_dataloader.batch_size': 12,
            'train_dataloader.dataset.pipeline.5.scale': (128, 128),
            'train_cfg.max_epochs': 2,
            'train_cfg.val_interval': 2,
            'default_hooks.checkpoint.interval': 100,
        }, None)
    opts.update(extra)
    return opts


def test_each_epoch_names_every_skipped_image(tiny_widerface, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(osp.join(tiny_widerface, 'train'), root / 'train')
    images = sorted((root / 'train' / 'images').rglob('*.jpg'))
    images[0].unlink()  # missing
    images[5].write_bytes(b'')  # empty
    images[9].write_bytes(b'\xff\xd8\xff\xe0 not a jpeg' * 20)  # corrupt
    bad = {str(images[i]) for i in (0, 5, 9)}
    before = tree_digest(root)
    work = str(tmp_path / 'work')
    # two data-loader worker processes record what they skip
    _train(work, _options(str(root), **{'train_dataloader.num_workers': 2}))
    with open(osp.join(work, 'skipped_images.json')) as f:
        reports = json.load(f)
    assert [r['epoch'] for r in reports] == [1, 2]
    for rep in reports:
        named = {i['path']: i for i in rep['images']}
        assert set(named) == bad
        assert rep['skipped'] == sum(i['count'] for i in rep['images'])
        assert 'not found' in named[str(images[0])]['error']
        assert 'empty' in named[str(images[5])]['error']
        assert 'cannot decode' in named[str(images[9])]['error']
    (log, ) = list((tmp_path / 'work').glob('*/*.log'))
    text = log.read_text()
    assert 'epoch 1: skipped' in text and 'epoch 2: skipped' in text
    assert '(3 images)' in text and str(images[9]) in text
    assert tree_digest(root) == before


def test_no_readable_image_is_one_error(tiny_widerface, tmp_path, capsys):
    opts = _options(
        tiny_widerface,
        **{'train_dataloader.dataset.data_prefix.img': 'val/nowhere/'})
    with pytest.raises(SystemExit) as info:
        _train(str(tmp_path / 'work'), opts)
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('train.py: error: none of the 24 training '
                              'images can be read (e.g. image file not found')
    assert 'Cannot find valid image' not in '\n'.join(err)
