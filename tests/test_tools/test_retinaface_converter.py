import os.path as osp
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch

from tests.reference import retinaface_ref as ref
from tests.test_models.retinaface_utils import (REPO_ROOT, build_retinaface,
                                                load_converter)

conv = load_converter()
TOOL = osp.join(REPO_ROOT, 'tools/model_converters/retinaface_to_mmdet.py')


@pytest.fixture(scope='module')
def mnet_state_dict():
    net = ref.randomize_(ref.RetinaFace(ref.cfg_mnet, phase='test'), 3)
    sd = net.state_dict()
    assert len(sd) == 300
    assert sum(k.endswith('num_batches_tracked') for k in sd) == 47
    return sd


def test_every_key_maps_and_fits(mnet_state_dict):
    for arch, cfg in (('mnet025', ref.cfg_mnet), ('r50', ref.cfg_re50)):
        sd = (
            mnet_state_dict if arch == 'mnet025' else ref.RetinaFace(
                cfg, phase='test').state_dict())
        target = conv.target_state_dict(arch)
        mapped = {conv.map_key(k, arch): v for k, v in sd.items()}
        assert None not in mapped
        assert set(mapped) == set(target)  # a bijection onto our model
        for k, v in mapped.items():
            assert v.shape == target[k].shape, k
    assert conv.map_key('ssh1.conv7x7_3.1.running_mean', 'mnet025') == \
        'neck.1.ssh_modules.0.conv7x7_3.bn.running_mean'
    assert conv.map_key('body.stage1.0.0.weight', 'mnet025') == \
        'backbone.stage1.0.conv.weight'
    assert conv.map_key('ClassHead.0.conv1x1.weight', 'mnet025') == \
        'bbox_head.cls_convs.0.weight'


def _wrapped_variants(sd):
    prefixed = OrderedDict(('module.' + k, v) for k, v in sd.items())
    return {
        'plain': sd,
        'module': prefixed,
        'wrapper': {
            'state_dict': sd
        },
        'wrapper_module': {
            'state_dict': prefixed,
            'epoch': 3
        },
    }


def test_prefix_and_wrapper_variants_through_files(tmp_path, mnet_state_dict):
    expected, _ = conv.convert_retinaface(mnet_state_dict, 'mnet025')
    for name, obj in _wrapped_variants(mnet_state_dict).items():
        src = tmp_path / f'{name}.pth'
        dst = tmp_path / f'{name}_mmdet.pth'
        torch.save(obj, src)
        assert conv.convert_file(str(src), str(dst)) == 'mnet025'
        ckpt = torch.load(dst, weights_only=True)
        assert set(ckpt) == {'state_dict', 'meta'}
        assert ckpt['meta']['arch'] == 'mnet025'
        assert list(ckpt['state_dict']) == list(expected)
        for k, v in expected.items():
            assert torch.equal(ckpt['state_dict'][k], v)


def test_cli_converts_and_checkpoint_loads(tmp_path, mnet_state_dict):
    src = tmp_path / 'mobilenet0.25_Final.pth'
    dst = tmp_path / 'out' / 'retinaface_mnet025.pth'
    torch.save(
        {
            'state_dict':
            OrderedDict(('module.' + k, v) for k, v in mnet_state_dict.items())
        }, src)
    proc = subprocess.run(
        [sys.executable, TOOL,
         str(src),
         str(dst), '--arch', 'mnet025'],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    from mmengine.runner import load_checkpoint
    model = build_retinaface('mnet025')
    load_checkpoint(model, str(dst), strict=True)
    assert torch.equal(model.bbox_head.kpt_convs[2].bias,
                       mnet_state_dict['LandmarkHead.2.conv1x1.bias'])


def test_backbone_only_pretrain_file(tmp_path):
    backbone = ref.randomize_(ref.MobileNetV1(), 5)
    sd = OrderedDict(
        ('module.' + k, v) for k, v in backbone.state_dict().items())
    assert 'module.fc.weight' in sd and 'module.stage1.0.0.weight' in sd
    src = tmp_path / 'mobilenetV1X0.25_pretrain.tar'
    dst = tmp_path / 'mnet_backbone.pth'
    torch.save(
        {
            'epoch': 100,
            'arch': 'mobilenet',
            'state_dict': sd,
            'best_prec1': 61.2
        }, src)
    assert conv.convert_file(str(src), str(dst), 'mnet025') == \
        'mnet025_backbone'
    out = torch.load(dst, weights_only=True)['state_dict']
    assert all(k.startswith('backbone.') for k in out)
    assert len(out) == 162  # fc dropped
    # usable as init_cfg Pretrained with prefix
    model = build_retinaface(
        'mnet025',
        backbone=dict(
            type='MobileNetV1',
            init_cfg=dict(
                type='Pretrained', checkpoint=str(dst), prefix='backbone.')))
    model.init_weights()
    body = ref.IntermediateLayerGetter(backbone, ref.cfg_mnet['return_layers'])
    x = torch.rand(1, 3, 64, 80)
    model.eval()
    body.eval()
    with torch.no_grad():
        ours = model.backbone(x)
        theirs = list(body(x).values())
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b, atol=1e-5)


def test_bad_files_are_refused_with_key_lists(tmp_path, mnet_state_dict):
    sd = OrderedDict(mnet_state_dict)
    sd['extra.layer.weight'] = torch.zeros(3)
    del sd['ssh2.conv5X5_2.0.weight']
    with pytest.raises(conv.CheckpointMismatchError) as e:
        conv.convert_retinaface(sd, 'mnet025')
    msg = str(e.value)
    assert '1 unmapped key(s): extra.layer.weight' in msg
    assert 'neck.1.ssh_modules.1.conv5x5_2.conv.weight' in msg
    assert 'missing' in msg

    bad = OrderedDict(mnet_state_dict)
    bad['ClassHead.1.conv1x1.weight'] = torch.zeros(6, 64, 1, 1)
    with pytest.raises(conv.CheckpointMismatchError, match='shape'):
        conv.convert_retinaface(bad, 'mnet025')

    # a MobileNet file declared as ResNet-50: everything is listed
    with pytest.raises(conv.CheckpointMismatchError, match='unmapped'):
        conv.convert_retinaface(mnet_state_dict, 'r50')

    with pytest.raises(conv.CheckpointMismatchError, match='architecture'):
        conv.convert_retinaface({'foo.weight': torch.zeros(1)})


def test_cli_refuses_bad_file(tmp_path, mnet_state_dict, capsys):
    sd = OrderedDict(mnet_state_dict)
    sd['extra.layer.weight'] = torch.zeros(3)
    src = tmp_path / 'bad.pth'
    torch.save(sd, src)
    assert conv.main([str(src), str(tmp_path / 'o.pth')]) == 1
    err = capsys.readouterr().err
    assert 'refused' in err and 'extra.layer.weight' in err
    assert not (tmp_path / 'o.pth').exists()


def test_missing_num_batches_tracked_is_tolerated(mnet_state_dict):
    sd = OrderedDict((k, v) for k, v in mnet_state_dict.items()
                     if not k.endswith('num_batches_tracked'))
    out, _ = conv.convert_retinaface(sd, 'mnet025')
    assert len(out) == 300


def test_wrong_family_names_the_one_the_keys_show(mnet_state_dict):
    """``--from`` a family the file is not: every message says which
    family the keys look like and lists the file's own keys (not their
    mapping), whether the architecture is detected or given."""
    from tests.reference import yakhyo_retinaface_ref as yref
    files = {
        'biubug6':
        OrderedDict(('module.' + k, v) for k, v in mnet_state_dict.items()),
        'yakhyo':
        yref.RetinaFace(yref.CONFIGS['mnet025']).state_dict(),
    }
    for found, sd in files.items():
        first = next(iter(sd)).replace('module.', '')
        for family in ('biubug6', 'yakhyo', 'mindspore'):
            if family == found:
                continue
            for arch in ('auto', 'mnet025'):
                with pytest.raises(conv.CheckpointMismatchError) as info:
                    conv.convert_state_dict(sd, family=family, arch=arch)
                msg = str(info.value)
                assert f'--from {family} (the keys look like {found})' in \
                    msg, msg
                if arch == 'auto':
                    assert f"first keys: ['{first}'" in msg, msg
                assert 'fpn.output1' not in msg.split('missing key(s)')[0]
