"""yakhyo/retinaface-pytorch checkpoints reproduce the source network through
its own test recipe (evaluate_widerface.py), for every backbone."""
import pytest
import torch

from tests.reference import yakhyo_retinaface_ref as yref
from tests.test_tools.retinaface_family_utils import (assert_detections,
                                                      assert_per_anchor,
                                                      build_from_config, conv,
                                                      random_images,
                                                      randomize_, run_ours)

HEADS = ('class_head', 'bbox_head', 'landmark_head')
# arch: (released file name, head gain for a spread of scores)
CASES = {
    'mnet025': ('retinaface_mv1_0.25.pth', 1.0),
    'mnet050': ('retinaface_mv1_0.50.pth', 1.0),
    'mnet100': ('retinaface_mv1.pth', 0.3),
    'mnv2': ('retinaface_mv2.pth', 0.3),
    'r18': ('retinaface_r18.pth', 0.03),
    'r34': ('retinaface_r34.pth', 0.01),
    'r50': ('resnet50_final.pth', 0.01),
}
# the recipe's resize at a scale small enough for the CPU test (the real
# 1600 / 2150 is the same code with other numbers)
SCALE = dict(short_side=120, max_long_side=176)


@pytest.mark.parametrize('arch', list(CASES))
def test_converted_checkpoint_reproduces_yakhyo(arch, tmp_path):
    fname, gain = CASES[arch]
    cfg = yref.CONFIGS[arch]
    net = randomize_(
        yref.RetinaFace(cfg), seed=len(arch), head_gain=gain, head_names=HEADS)
    src = tmp_path / fname
    torch.save(net.state_dict(), src)  # train.py: model.state_dict()
    result = conv.convert_any(str(src), str(tmp_path / 'ours.pth'))
    assert (result.family, result.arch) == ('yakhyo', arch)
    model, pipeline = build_from_config(result.recipe,
                                        str(tmp_path / 'ours.pth'),
                                        {'ResizeShortSide': SCALE})
    for i, img in enumerate(random_images(seed=len(arch))):
        ref_anchor, ref_dets = yref.evaluate_image(
            net,
            img,
            cfg,
            target_size=SCALE['short_side'],
            max_size=SCALE['max_long_side'])
        ours, pred = run_ours(model, pipeline, img, tmp_path, f'{i}.png')
        assert_per_anchor(ours, ref_anchor)
        assert_detections(pred, ref_dets)


def test_yakhyo_training_checkpoint_and_origin_size(tmp_path):
    """``{network}_checkpoint.ckpt`` ({'model': ..., 'optimizer': ...}) and
    the --origin-size recipe (short_side=None)."""
    cfg = yref.CONFIGS['mnet025']
    net = randomize_(yref.RetinaFace(cfg), seed=3, head_names=HEADS)
    src = tmp_path / 'mobilenetv1_0.25_checkpoint.ckpt'
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    torch.save(
        dict(model=net.state_dict(), optimizer=opt.state_dict(), epoch=3), src)
    result = conv.convert_any(str(src), str(tmp_path / 'ours.pth'))
    assert (result.family, result.arch) == ('yakhyo', 'mnet025')
    model, pipeline = build_from_config(
        result.recipe, str(tmp_path / 'ours.pth'),
        {'ResizeShortSide': dict(short_side=None)})
    img = random_images(seed=5)[0]
    ref_anchor, ref_dets = yref.evaluate_image(net, img, cfg, origin_size=True)
    ours, pred = run_ours(model, pipeline, img, tmp_path)
    assert_per_anchor(ours, ref_anchor)
    assert_detections(pred, ref_dets)


def test_face_detector_names_the_converter_for_a_yakhyo_file(tmp_path):
    from mmdet_faces.apis import FaceDetector
    net = yref.RetinaFace(yref.CONFIGS['mnet025'])
    src = tmp_path / 'retinaface_mv1_0.25.pth'
    torch.save(net.state_dict(), src)
    with pytest.raises(ValueError, match='retinaface_to_mmdet.py'):
        FaceDetector(conv.RECIPES[('yakhyo', 'mnet025')], str(src))


def test_yakhyo_imagenet_backbone_file(tmp_path):
    """weights/mobilenetv1_025.pretrained: the bare MobileNetV1 (fc
    dropped) for ``init_cfg=dict(type='Pretrained', prefix='backbone.')``;
    our backbone then computes its stages."""
    from mmengine.runner import load_checkpoint

    from mmdet_faces.models import MobileNetV1
    backbone = randomize_(yref.MobileNetV1(0.25), seed=9)
    src = tmp_path / 'mobilenetv1_025.pretrained'
    torch.save(backbone.state_dict(), src)
    result = conv.convert_any(str(src), str(tmp_path / 'bb.pth'))
    assert (result.family, result.arch) == ('yakhyo', 'mnet025_backbone')
    assert result.dropped == ['fc.weight', 'fc.bias']
    ours = MobileNetV1(widen_factor=0.25).eval()
    load_checkpoint(
        ours,
        str(tmp_path / 'bb.pth'),
        revise_keys=[(r'^backbone\.', '')],
        strict=True,
        logger='silent')
    body = yref.IntermediateLayerGetter(backbone, {
        'stage1': 1,
        'stage2': 2,
        'stage3': 3
    }).eval()
    x = torch.rand(1, 3, 96, 64) * 255 - 117
    with torch.no_grad():
        for a, b in zip(ours(x), body(x).values()):
            assert torch.allclose(a, b, atol=1e-4, rtol=1e-5)
