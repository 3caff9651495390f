"""mmcv_patches.safe_load and the checkpoint.safe_load patch: weights only
on every mmengine / mmdet load path, one-line errors naming the file."""
import os
import pickle

import pytest
import torch

import mmcv_patches
from mmcv_patches import (CheckpointLoadError, CheckpointNotFoundError,
                          UnsafeCheckpointError, safe_load)
from tests.test_mmcv_patches.checkpoint_cases import (bad_checkpoint_files,
                                                      save_code_checkpoint)


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil.pth'
    save_code_checkpoint(path, marker)
    yield str(path)
    assert not marker.exists(), 'the checkpoint ran code'


def _one_line(err: Exception, path) -> str:
    msg = str(err)
    assert '\n' not in msg and str(path) in msg, msg
    assert 'weights_only' not in msg, msg  # never torch's retry advice
    return msg


def test_bad_files_get_one_line(tmp_path):
    cases = bad_checkpoint_files(tmp_path)
    cases['folder'] = (str(tmp_path), 'is a directory')
    for name, (path, words) in cases.items():
        with pytest.raises(CheckpointLoadError) as info:
            safe_load(path)
        assert words in _one_line(info.value, path), name
    with pytest.raises(CheckpointNotFoundError):
        safe_load(cases['missing'][0])
    assert issubclass(CheckpointNotFoundError, FileNotFoundError)


def test_code_is_refused_in_both_formats(evil, tmp_path):
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(evil)
    msg = _one_line(info.value, evil)
    assert 'refused checkpoint' in msg and 'posix.system' in msg
    legacy = save_code_checkpoint(
        tmp_path / 'evil_legacy.pth', tmp_path / 'code_ran', legacy=True)
    with pytest.raises(UnsafeCheckpointError, match='posix.system'):
        safe_load(legacy)
    # an UnpicklingError, as torch's own refusal
    assert issubclass(UnsafeCheckpointError, pickle.UnpicklingError)


def test_good_files_load(tmp_path):
    sd = {'w': torch.arange(4.), 'meta': {'epoch': 3, 'name': 'x'}}
    torch.save(sd, tmp_path / 'zip.pth')
    torch.save(
        sd, tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    for name in ('zip.pth', 'legacy.pth'):
        out = safe_load(str(tmp_path / name))
        assert torch.equal(out['w'], sd['w']) and out['meta'] == sd['meta']
    with open(tmp_path / 'zip.pth', 'rb') as f:  # a file object
        assert torch.equal(safe_load(f)['w'], sd['w'])


def test_every_mmengine_and_mmdet_path_refuses(evil, tmp_path, monkeypatch):
    """load_checkpoint, _load_checkpoint, CheckpointLoader (local and
    http(s), which torch.hub loads with weights_only=False), Pretrained
    init and mmdet's init_detector; even when the environment switches
    torch's weights-only default off."""
    from mmdet.apis import init_detector
    from mmengine.model import PretrainedInit
    from mmengine.runner import load_checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
    assert mmcv_patches.patch_report()['checkpoint.safe_load'] == 'applied'
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    model = torch.nn.Conv2d(1, 2, 1)
    calls = [
        lambda: _load_checkpoint(evil, map_location='cpu'),
        lambda: load_checkpoint(model, evil),
        lambda: CheckpointLoader.load_checkpoint(evil),
        lambda: PretrainedInit(checkpoint=evil)(model),
    ]
    # a download: already in torch.hub's cache, so no network is needed
    hub = tmp_path / 'hub'
    os.makedirs(hub / 'checkpoints')
    os.link(evil, hub / 'checkpoints' / 'evil.pth')
    monkeypatch.setattr(torch.hub, '_hub_dir', str(hub))
    calls.append(lambda: _load_checkpoint('https://example.invalid/evil.pth'))
    from tests.test_apis.face_api_utils import MNET_CFG
    calls.append(lambda: init_detector(MNET_CFG, evil, device='cpu'))
    for call in calls:
        with pytest.raises(UnsafeCheckpointError, match='refused checkpoint'):
            call()
    with pytest.raises(CheckpointNotFoundError):
        load_checkpoint(model, str(tmp_path / 'missing.pth'))
