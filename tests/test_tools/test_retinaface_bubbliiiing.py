"""bubbliiiing/retinaface-pytorch checkpoints reproduce the source network
through its own test recipe (RGB input, letterbox, score >= 0.01, NMS
0.3)."""
import pytest
import torch

from tests.reference import bubbliiiing_retinaface_ref as bref
from tests.reference import retinaface_ref as ref
from tests.test_tools.retinaface_family_utils import (assert_detections,
                                                      assert_per_anchor,
                                                      build_from_config, conv,
                                                      random_images,
                                                      randomize_, run_ours)

HEADS = ('ClassHead', 'BboxHead', 'LandmarkHead')
# arch: (reference cfg, released file name, head gain, letterbox canvas);
# the canvas is smaller than the recipe's 1280x1280 for CPU time (the same
# code with other numbers; a non-square one checks the axes)
CASES = {
    'mnet025': (ref.cfg_mnet, 'Retinaface_mobilenet0.25.pth', 1.0, (352, 288)),
    'r50': (ref.cfg_re50, 'Retinaface_resnet50.pth', 0.01, (256, 256)),
}


@pytest.mark.parametrize('arch', list(CASES))
def test_converted_checkpoint_reproduces_bubbliiiing(arch, tmp_path):
    cfg, fname, gain, canvas = CASES[arch]
    net = randomize_(
        ref.RetinaFace(cfg, phase='test'),
        seed=11,
        head_gain=gain,
        head_names=HEADS)
    src = tmp_path / fname
    torch.save(net.state_dict(), src)  # utils_fit.py: model.state_dict()
    result = conv.convert_any(str(src), str(tmp_path / 'ours.pth'))
    # biubug6's keys: the file name tells the family
    assert (result.family, result.arch) == ('bubbliiiing', arch)
    assert 'file name' in result.why
    model, pipeline = build_from_config(result.recipe,
                                        str(tmp_path / 'ours.pth'),
                                        {'LetterboxResize': dict(size=canvas)})
    assert model.data_preprocessor._channel_conversion  # RGB
    for i, img in enumerate(random_images(seed=4)):
        ref_rows, ref_dets = bref.get_map_txt(
            net, img, cfg, input_shape=canvas[::-1])
        ours, pred = run_ours(model, pipeline, img, tmp_path, f'{i}.png')
        assert_per_anchor(ours,
                          (ref_rows[:, 4], ref_rows[:, :4], ref_rows[:, 5:]))
        assert_detections(pred, ref_dets)


def test_biubug6_named_file_keeps_biubug6_recipe(tmp_path):
    net = ref.RetinaFace(ref.cfg_mnet, phase='test')
    src = tmp_path / 'mobilenet0.25_Final.pth'
    torch.save(net.state_dict(), src)
    result = conv.convert_any(str(src), str(tmp_path / 'a.pth'))
    assert result.family == 'biubug6'
    assert result.recipe == ('configs/retinaface/'
                             'retinaface_mnet025_1xb32-250e_widerface.py')
    # same file, told to be bubbliiiing's: same weights, its recipe
    forced = conv.convert_any(
        str(src), str(tmp_path / 'b.pth'), family='bubbliiiing')
    assert forced.family == 'bubbliiiing' and 'letterbox' in forced.recipe
    for k, v in result.state_dict.items():
        assert torch.equal(v, forced.state_dict[k])
    meta = torch.load(tmp_path / 'b.pth', weights_only=True)['meta']
    assert meta['source'] == 'bubbliiiing/retinaface-pytorch'
    assert meta['config'] == forced.recipe
