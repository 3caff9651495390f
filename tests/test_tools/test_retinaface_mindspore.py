"""MindSpore model zoo RetinaFace_ResNet50 ``.ckpt`` files (read without
MindSpore) reproduce the source network through its own eval.py recipe."""
import numpy as np
import pytest

from tests.reference import mindspore_retinaface_ref as msref
from tests.test_tools.retinaface_family_utils import (assert_detections,
                                                      assert_per_anchor,
                                                      build_from_config, conv,
                                                      random_images,
                                                      randomize_, run_ours)

ms_ckpt = conv._load_sibling('_mindspore_ckpt')
HEADS = ('ClassHead', 'BboxHead', 'LandmarkHead')
# eval.py's resize and canvas at a scale for the CPU test (the recipe's
# 1600 / 2176 is the same code with other numbers; the canvas stays a
# multiple of 32)
TARGET, CANVAS = 128, 192


@pytest.fixture(scope='module')
def ms_net():
    return randomize_(
        msref.RetinaFace(), seed=5, head_gain=0.01, head_names=HEADS)


def test_converted_ckpt_reproduces_mindspore(ms_net, tmp_path):
    src = tmp_path / 'RetinaFace-100_536.ckpt'
    msref.write_checkpoint(msref.training_checkpoint(ms_net), str(src))
    result = conv.convert_any(str(src), str(tmp_path / 'ours.pth'))
    assert (result.family, result.arch, result.source_format) == \
        ('mindspore', 'r50', 'mindspore')
    # optimizer state, lr, step and the ImageNet classifier are dropped
    assert 'learning_rate' in result.dropped
    assert 'network.base.end_point.weight' in result.dropped
    assert sum(k.startswith('accum.') for k in result.dropped) > 100
    model, pipeline = build_from_config(
        result.recipe, str(tmp_path / 'ours.pth'), {
            'ResizeShortSide': dict(short_side=TARGET, max_long_side=CANVAS),
            'Pad': dict(size=(CANVAS, CANVAS))
        })
    for i, img in enumerate(random_images(seed=8)):
        ref_anchor, ref_dets = msref.eval_image(ms_net, img, TARGET, CANVAS)
        ours, pred = run_ours(model, pipeline, img, tmp_path, f'{i}.png')
        assert_per_anchor(ours, ref_anchor)
        assert_detections(pred, ref_dets, with_landmarks=False)


def test_reader_slices_scalars_crc_and_prefixless(ms_net, tmp_path):
    """A synthetic file sliced at 512 KiB (MindSpore slices values over
    512 MiB, which no RetinaFace tensor reaches: this checks the joining
    of slices on small tensors), with a scalar, the CRC trailer and no
    ``network.`` prefix."""
    params = msref.mindspore_parameters(ms_net, prefix='')
    params['global_step'] = np.array(7, np.int32)
    path = tmp_path / 'export.ckpt'
    msref.write_checkpoint(
        params, str(path), crc_check=True, slice_bytes=512 * 1024)
    read = ms_ckpt.read_mindspore_checkpoint(str(path))
    assert read['global_step'] == 7  # a scalar, as MindSpore loads it
    big = 'base.layer4.0.conv2.weight'  # 9 MiB: 18 synthetic slices
    assert path.read_bytes().count(big.encode()) == 18
    assert read[big].shape == (512, 512, 3, 3)
    assert np.array_equal(read[big], params[big])
    assert np.array_equal(read['fpn.output1.1.moving_variance'],
                          params['fpn.output1.1.moving_variance'])
    # a checkpoint exported without the training wrapper converts too
    result = conv.load_source(str(path))
    assert result.family == 'mindspore' and result.dropped == [
        'base.end_point.weight', 'base.end_point.bias', 'global_step'
    ]


def test_bad_mindspore_files_are_refused(ms_net, tmp_path):
    params = msref.mindspore_parameters(ms_net)
    path = tmp_path / 'a.ckpt'
    msref.write_checkpoint(params, str(path))
    data = path.read_bytes()
    (tmp_path / 'cut.ckpt').write_bytes(data[:len(data) // 2])
    with pytest.raises(conv.CheckpointMismatchError, match='cut.ckpt'):
        conv.load_source(str(tmp_path / 'cut.ckpt'))
    # a MindSpore file told to be yakhyo's: refused with its keys listed
    with pytest.raises(
            conv.CheckpointMismatchError,
            match=r'unmapped key\(s\): network\.base\.conv1'):
        conv.load_source(str(path), family='yakhyo')
    # a parameter missing: listed under our name
    del params['network.ssh2.conv7X7_3.1.gamma']
    msref.write_checkpoint(params, str(tmp_path / 'b.ckpt'))
    with pytest.raises(
            conv.CheckpointMismatchError,
            match='missing.*ssh_modules.1.conv7x7_3.bn.weight'):
        conv.load_source(str(tmp_path / 'b.ckpt'))
