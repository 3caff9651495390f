"""Unconverted reference checkpoints are refused on mmengine's and mmdet's
load paths (tools/test.py, the runner's load_from, load_checkpoint,
init_detector, DetInferencer) in one line naming the converter; a model
whose own keys are the reference ones still loads its file."""
import os.path as osp
import re

import numpy as np
import pytest
import torch

from mmcv_patches import ReferenceCheckpointError, patch_report
from tests.test_apis.face_api_utils import MNET_CFG
from tests.testing import (REPO_ROOT, flatten_cfg_options, run_tool_in_process,
                           tiny_run_options)

DEMO_CFG = osp.join(REPO_ROOT, 'configs', 'retinaface',
                    'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')


@pytest.fixture(scope='module')
def biubug6(tmp_path_factory):
    """biubug6's mobilenet0.25_Final.pth layout (random weights, the
    ``module.`` prefix of its DataParallel training)."""
    from tests.reference import retinaface_ref as ref
    net = ref.RetinaFace(ref.cfg_mnet, phase='test')
    path = tmp_path_factory.mktemp('reference') / 'mobilenet0.25_Final.pth'
    torch.save({'module.' + k: v for k, v in net.state_dict().items()}, path)
    return str(path)


def _hint(name,
          family='biubug6 / bubbliiiing RetinaFace',
          converter='retinaface_to_mmdet.py'):
    return (f'{name} is a {family} checkpoint, not an mmdet one: convert '
            f'it first with python tools/model_converters/{converter} '
            f'{name} OUT.pth')


def _refused(name):
    return pytest.raises(
        ReferenceCheckpointError, match=f'^{re.escape(_hint(name))}$')


def test_patch_applied():
    assert patch_report()['checkpoint.refuse_reference_layouts'] == \
        'applied'


def test_det_inferencer_and_init_detector(biubug6):
    from mmdet.apis import DetInferencer, init_detector
    with _refused(biubug6):
        DetInferencer(MNET_CFG, biubug6, device='cpu', show_progress=False)
    with _refused(biubug6):
        init_detector(MNET_CFG, biubug6, device='cpu')


def test_test_tool_and_load_from(biubug6, tiny_widerface, tmp_path, capsys):
    """tools/test.py CONFIG CKPT and a training run's load_from: one line
    naming the file and its converter, exit code 1."""
    root = tiny_widerface.rstrip('/') + '/'
    opts = tiny_run_options({'train_dataloader.dataset.data_root': root}, {
        'dataloader.dataset.data_root': root,
        'evaluator.gt_dir': root + 'ground_truth/'
    })
    flat = flatten_cfg_options(opts)
    for tool, argv in (('test', [DEMO_CFG, biubug6, '--cfg-options'] + flat),
                       ('train',
                        [DEMO_CFG, '--cfg-options', f'load_from={biubug6}'] +
                        flat),
                       ('train',
                        [DEMO_CFG, '--resume', biubug6, '--cfg-options'] +
                        flat)):
        argv[1:1] = ['--work-dir', str(tmp_path / tool)]
        with pytest.raises(SystemExit) as info:
            run_tool_in_process(tool, argv)
        assert info.value.code == 1
        (err, ) = capsys.readouterr().err.strip().splitlines()
        assert err == f'{tool}.py: error: {_hint(biubug6)}'


def test_each_family_names_itself_and_its_converter(tmp_path):
    """yakhyo, MindSpore (a state dict, and a MindSpore ``.ckpt`` file),
    S3FD.pytorch and insightface SCRFD files through load_checkpoint."""
    from mmengine.runner import load_checkpoint

    from tests.reference import mindspore_retinaface_ref as ms_ref
    from tests.reference import scrfd_ref, yakhyo_retinaface_ref
    from tests.testing import load_script
    s3fd = load_script('tools/model_converters/s3fd_to_mmdet.py')
    yakhyo = yakhyo_retinaface_ref.RetinaFace(
        yakhyo_retinaface_ref.CONFIGS['mnet025'])
    files = {
        ('yakhyo RetinaFace', 'retinaface'): {
            'model': yakhyo.state_dict()
        },
        ('MindSpore RetinaFace', 'retinaface'): {
            'network.base.conv1.weight': torch.zeros(64, 3, 7, 7)
        },
        ('S3FD.pytorch', 's3fd'): {
            k: torch.zeros(s)
            for k, s in s3fd.reference_shapes().items()
        },
        ('insightface SCRFD', 'scrfd'): {
            'state_dict':
            scrfd_ref.SCRFDRef(scrfd_ref.SCRFD_500M).state_dict(),
            'meta': {
                'epoch': 640
            }
        },
    }
    model = torch.nn.Conv2d(1, 1, 1)
    for (family, arch), obj in files.items():
        path = str(tmp_path / f'{arch}.pth')
        torch.save(obj, path)
        with pytest.raises(
                ReferenceCheckpointError,
                match=re.escape(_hint(path, family, f'{arch}_to_mmdet.py'))):
            load_checkpoint(model, path)
    ckpt = str(tmp_path / 'RetinaFace-100_536.ckpt')
    ms_ref.write_checkpoint(
        {'network.base.conv1.weight': np.zeros((64, 3, 7, 7), np.float32)},
        ckpt)
    hint = _hint(ckpt, 'MindSpore RetinaFace')
    with pytest.raises(ReferenceCheckpointError, match=f'^{re.escape(hint)}$'):
        load_checkpoint(model, ckpt)


def test_a_model_with_the_reference_keys_loads_them(tmp_path):
    """The check looks at the model too: a network whose own keys are
    ``body.*`` (biubug6's own code, here a stand-in) loads such a file."""
    from mmengine.runner import load_checkpoint
    net = torch.nn.Module()
    net.body = torch.nn.Conv2d(1, 2, 1)
    path = str(tmp_path / 'own.pth')
    torch.save({'state_dict': net.state_dict()}, path)
    other = torch.nn.Module()
    other.body = torch.nn.Conv2d(1, 2, 1)
    load_checkpoint(other, path, strict=True)
    assert torch.equal(other.body.weight, net.body.weight)
