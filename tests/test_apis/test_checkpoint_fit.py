"""A checkpoint that does not fit the config (another detector, another
width) is refused by FaceDetector / FaceInferencer with one ValueError line
naming the file and what does not fit, and by tools/infer.py with that
line and exit code 2 (no traceback)."""
from collections import OrderedDict

import cv2
import numpy as np
import pytest
import torch

from mmdet_faces.apis import (CheckpointFitError, FaceDetector, FaceInferencer,
                              check_state_dict_fits)
from tests.test_apis.face_api_utils import MNET_CFG
from tests.testing import load_script

#: words of each checkpoint's message
EXPECTED = {
    's3fd': ('of the model\'s 300 keys missing', 'unexpected keys',
             'another detector'),
    'mnet050': ('shape mismatches, checkpoint vs model',
                'backbone.stage1.0.conv.weight (16, 3, 3, 3) vs (8, 3, 3, 3)',
                'another architecture or width'),
}


def _assert_refusal(text, path, name):
    assert '\n' not in text.strip() and 'Traceback' not in text, text
    assert f'checkpoint {path} does not fit the model of the config ' \
        '(RetinaFace)' in text, text
    for words in EXPECTED[name]:
        assert words in text, (words, text)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_api_refuses_checkpoint_of_another_model(other_model_ckpts, name):
    path = other_model_ckpts[name]
    with pytest.raises(CheckpointFitError) as info:
        FaceDetector(MNET_CFG, path)
    assert isinstance(info.value, ValueError)
    _assert_refusal(str(info.value), path, name)
    with pytest.raises(ValueError, match='does not fit the model'):
        FaceInferencer(MNET_CFG, path)


def test_infer_cli_refuses_checkpoint_of_another_model(other_model_ckpts,
                                                       tmp_path, capsys):
    img = tmp_path / 'x.jpg'
    cv2.imwrite(str(img), np.zeros((32, 32, 3), np.uint8))
    infer = load_script('tools/infer.py')
    for name, path in sorted(other_model_ckpts.items()):
        out = tmp_path / name
        assert infer.main([
            str(img), '--config', MNET_CFG, '--checkpoint', path, '--out-dir',
            str(out)
        ]) == 2
        err = capsys.readouterr().err
        assert err.startswith('infer.py: error: checkpoint'), err
        _assert_refusal(err, path, name)
        assert not (out / 'detections.json').exists()


def test_check_state_dict_fits():
    """Strict as torch: a BatchNorm's num_batches_tracked may be absent
    (torch fills it in); a missing, extra or reshaped key is named."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    sd = OrderedDict((k, v) for k, v in model.state_dict().items()
                     if not k.endswith('num_batches_tracked'))
    check_state_dict_fits(model, sd, 'ok.pth')
    bad = OrderedDict(sd, extra=torch.zeros(1))
    del bad['1.running_var']
    bad['0.weight'] = torch.zeros(8, 3, 3, 3)
    with pytest.raises(CheckpointFitError) as info:
        check_state_dict_fits(model, bad, 'bad.pth')
    assert str(info.value) == (
        'checkpoint bad.pth does not fit the model of the config '
        "(Sequential): 1 of the model's 7 keys missing (1.running_var); "
        '1 unexpected keys (extra); 1 shape mismatches, checkpoint vs '
        'model (0.weight (8, 3, 3, 3) vs (4, 3, 3, 3)); a checkpoint of '
        'another architecture or width?')
