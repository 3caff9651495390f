"""tools/model_converters/scrfd_to_mmdet.py: key map, variant detection,
refusals, the mmdet 2.x checkpoint file."""
import pytest
import torch

from tests.reference import scrfd_ref as ref
from tests.test_models.scrfd_utils import load_converter


@pytest.fixture(scope='module')
def conv():
    return load_converter()


def test_key_map_of_both_backbone_families(conv):
    m = conv.map_key
    assert m('backbone.stem.0.0.weight') == 'backbone.stage1.0.conv.weight'
    assert m('backbone.stem.1.4.running_var') == \
        'backbone.stage1.1.pointwise_conv.bn.running_var'
    assert m('backbone.layer4.5.1.weight') == \
        'backbone.stage5.5.depthwise_conv.bn.weight'
    assert m('backbone.layer2.0.downsample.1.weight') == \
        'backbone.layer2.0.downsample.1.weight'
    assert m('neck.pafpn_convs.1.conv.bias') == 'neck.pafpn_convs.1.conv.bias'
    assert m('bbox_head.cls_stride_convs.0.1.depthwise_conv.gn.weight') == \
        'bbox_head.cls_convs.0.1.depthwise_conv.gn.weight'
    assert m('bbox_head.stride_kps.32.bias') == 'bbox_head.conv_kps.2.bias'
    assert m('bbox_head.scales.2.scale') == 'bbox_head.scales.2.scale'
    assert m('bbox_head.stride_cls.64.weight') is None
    assert m('bbox_head.integral.project') is None


@pytest.mark.parametrize('arch', ['500m', '500m_kps', '10g'])
def test_variant_detected_and_every_tensor_kept(conv, arch):
    from tests.test_models.scrfd_utils import REF_CFGS
    src = ref.randomize_(ref.SCRFDRef(REF_CFGS[arch]), seed=1).state_dict()
    out, used = conv.convert_scrfd({'state_dict': src})
    assert used == arch
    target = conv.target_state_dict(conv.ARCHS[arch])
    assert list(out) == list(target)
    # every source tensor but the DFL constant lands somewhere, unchanged
    assert len(out) == len(src) - 1
    for k, v in src.items():
        if k != 'bbox_head.integral.project':
            assert torch.equal(out[conv.map_key(k)], v)


def test_mismatches_refused_with_key_lists(conv):
    src = ref.SCRFDRef(ref.SCRFD_500M).state_dict()
    del src['bbox_head.stride_reg.0.bias']
    src['bbox_head.extra.weight'] = torch.zeros(1)
    src['neck.lateral_convs.0.conv.weight'] = torch.zeros(16, 73, 1, 1)
    with pytest.raises(conv.CheckpointMismatchError) as e:
        conv.convert_scrfd(src, arch='500m')
    msg = str(e.value)
    assert 'unmapped key(s): bbox_head.extra.weight' in msg
    assert '1 missing key(s): bbox_head.conv_reg.0.bias\n' in msg
    assert ('1 shape mismatch(es): neck.lateral_convs.0.conv.weight: '
            '(16, 73, 1, 1) -> neck.lateral_convs.0.conv.weight expects '
            '(16, 72, 1, 1)') in msg
    # auto: no variant fits; the closest one's lists are given
    with pytest.raises(
            conv.CheckpointMismatchError,
            match='fits none of the released.*Closest, 500m:'):
        conv.convert_scrfd(src)
    with pytest.raises(conv.CheckpointMismatchError, match='expected a dict'):
        conv.convert_scrfd([1])
    with pytest.raises(ValueError, match='unknown arch'):
        conv.convert_scrfd(src, arch='3g')


def test_cli_converts_an_mmdet2_checkpoint_file(conv, tmp_path, capsys):
    net = ref.randomize_(ref.SCRFDRef(ref.SCRFD_2_5G_KPS), seed=2)
    sd = {'module.' + k: v for k, v in net.state_dict().items()}
    src = tmp_path / 'SCRFD_2.5G_KPS.pth'
    torch.save(
        {
            'meta': {
                'epoch': 640,
                'config': 'model = dict(...)',
                'CLASSES': ('FG', ),
                'mmcv_version': '1.3.3'
            },
            'state_dict': sd,
            'optimizer': {
                'state': {},
                'param_groups': [{
                    'lr': 0.01
                }]
            },
        }, src)
    dst = tmp_path / 'out' / 'scrfd.pth'
    assert conv.main([str(src), str(dst)]) == 0
    assert '(2.5g_kps)' in capsys.readouterr().out
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['arch'] == '2.5g_kps'
    assert ckpt['meta']['epoch'] == 640
    assert ckpt['meta']['config'] == conv.ARCHS['2.5g_kps']
    assert set(ckpt['state_dict']) == set(
        conv.target_state_dict(conv.ARCHS['2.5g_kps']))

    bad = tmp_path / 'bad.pth'
    sd.pop('module.bbox_head.stride_kps.8.weight')
    torch.save({'state_dict': sd}, bad)
    assert conv.main([str(bad),
                      str(tmp_path / 'x.pth'), '--arch', '2.5g_kps']) == 1
    assert 'missing key(s): bbox_head.conv_kps.0.weight' in \
        capsys.readouterr().err
    assert not (tmp_path / 'x.pth').exists()
    # DST = SRC refused (exit 2), a file that is no checkpoint (exit 1)
    assert conv.main([str(src), str(src)]) == 2
    (tmp_path / 'junk.pth').write_text('not a checkpoint')
    assert conv.main([str(tmp_path / 'junk.pth'),
                      str(tmp_path / 'y.pth')]) == 1
    assert 'junk.pth' in capsys.readouterr().err
