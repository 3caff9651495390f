"""tools/test.py does not throw a run away: a ground truth that does not fit
the data fails before inference, and a metric that fails after inference
still leaves --out and its prediction files on disk (issue #11, item 5)."""
import os
import os.path as osp
import pickle

import pytest

from tests.test_apis.face_api_utils import MNET_CFG, make_checkpoint
from tests.test_mmcv_patches.checkpoint_cases import (bad_checkpoint_files,
                                                      tree_digest)
from tests.testing import (REPO_ROOT, flatten_cfg_options, run_tool_in_process,
                           tiny_run_options)

DEMO_CFG = osp.join(REPO_ROOT, 'configs', 'retinaface',
                    'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('test_tool') / 'mnet.pth'
    return make_checkpoint(MNET_CFG, str(path), seed=0)


def _test_options(root: str, gt_dir: str, **extra) -> dict:
    root = root.rstrip('/') + '/'
    return tiny_run_options({},
                            dict(
                                {
                                    'dataloader.dataset.data_root': root,
                                    'evaluator.gt_dir': gt_dir,
                                }, **extra))


def _run_test_tool(ckpt, work, opts, *args):
    """``tools/test.py DEMO_CFG CKPT --work-dir WORK [args] --cfg-options
    OPTS`` in this process."""
    run_tool_in_process(
        'test', [DEMO_CFG, ckpt, '--work-dir', work, *args, '--cfg-options'] +
        flatten_cfg_options(opts))


def test_ground_truth_of_other_images_fails_before_inference(
        ckpt, tiny_widerface, tmp_path, monkeypatch, capsys):
    from mmdet_faces.models.detectors import RetinaFace
    from tools.dataset_converters.synthetic import generate_widerface
    other = str(tmp_path / 'other')
    generate_widerface(
        other, num_train=0, num_val=3, seed=5, max_size=128, progress=False)
    before = tree_digest(tiny_widerface), tree_digest(other)
    forwards = []
    monkeypatch.setattr(RetinaFace, 'test_step',
                        lambda self, data: forwards.append(data))
    out = str(tmp_path / 'out.pkl')
    with pytest.raises(SystemExit) as info:
        _run_test_tool(
            ckpt, str(tmp_path / 'work'),
            _test_options(tiny_widerface, osp.join(other, 'ground_truth')),
            '--out', out)
    assert info.value.code == 1
    (err, ) = capsys.readouterr().err.strip().splitlines()
    assert err.startswith('test.py: error: WIDERFaceMetric: the ground truth')
    assert 'does not fit the data set (12 images): none of its 3 images' \
        in err
    assert not forwards  # no image went through the model
    assert not osp.exists(out)
    assert (tree_digest(tiny_widerface), tree_digest(other)) == before


def test_failing_metric_still_writes_predictions(ckpt, tiny_widerface,
                                                 tmp_path, monkeypatch):
    """The WIDER Face evaluation fails after inference (here: its ground
    truth cannot be read any more); --out and the metric's own prediction
    files are written all the same, then the run fails."""
    from mmdet_faces.evaluation.metrics import WIDERFaceMetric

    def unreadable(self, names, dets, logger):
        raise OSError(5, 'Input/output error', self.gt_dir)

    monkeypatch.setattr(WIDERFaceMetric, '_eval_widerface', unreadable)
    out = str(tmp_path / 'out.pkl')
    preds = str(tmp_path / 'preds')
    opts = _test_options(tiny_widerface,
                         osp.join(tiny_widerface, 'ground_truth'),
                         **{'evaluator.outfile_prefix': preds})
    with pytest.raises(OSError, match='Input/output error'):
        _run_test_tool(ckpt, str(tmp_path / 'work'), opts, '--out', out)
    with open(out, 'rb') as f:
        dumped = pickle.load(f)
    assert len(dumped) == 12 and 'pred_instances' in dumped[0]
    written = [f for _, _, files in os.walk(preds) for f in files]
    assert len(written) == 12 and all(f.endswith('.txt') for f in written)


def test_checkpoints_that_are_no_checkpoint(tiny_widerface, tmp_path, capsys):
    """A truncated CHECKPOINT: one line naming it, exit 1 (every kind of
    bad file: tests/test_mmcv_patches/test_safe_load.py)."""
    cases = bad_checkpoint_files(tmp_path)
    before = tree_digest(tmp_path)
    opts = _test_options(tiny_widerface,
                         osp.join(tiny_widerface, 'ground_truth'))
    for name in ('truncated', ):
        path, words = cases[name]
        with pytest.raises(SystemExit) as info:
            _run_test_tool(path, str(tmp_path / 'work'), opts)
        assert info.value.code == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f'test.py: error: {err[0][len("test.py: error: "):]}']
        assert path in err[0] and words in err[0]
    assert {
        k: v
        for k, v in tree_digest(tmp_path).items() if not k.startswith('work')
    } == before
