# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Key layouts of the RetinaFace checkpoint families.

Every family is first rewritten to the *canonical* layout, the module names
of biubug6/Pytorch_Retinaface (``body.*``, ``fpn.output{1,2,3}``,
``ssh{1,2,3}.conv...``, ``ClassHead.N.conv1x1``, ...) with PyTorch
parameter names; ``retinaface_to_mmdet.py`` maps that one layout to
mmdet_faces. What each family differs in (see docs/checkpoints.md):

* biubug6/Pytorch_Retinaface, bubbliiiing/retinaface-pytorch: the canonical
  layout itself (bubbliiiing kept biubug6's module names); only their test
  recipes differ.
* yakhyo/retinaface-pytorch: ``fx.`` for the body, depthwise blocks as two
  ``Conv2dNormActivation`` (``stageK.N.{0,1}.{0,1}``), heads as
  ``{class,bbox,landmark}_head.{class,bbox,landmark}_head.N``; MobileNetV2
  bodies keep torchvision's ``features.N`` (its canonical layout too).
* MindSpore model zoo RetinaFace_ResNet50: ``base.`` for the body,
  ``down_sample_layer``, ``conv7X7_3``, BatchNorm ``gamma`` / ``beta`` /
  ``moving_mean`` / ``moving_variance``, a ``network.`` prefix in files
  saved during training, and optimizer state (``moments.*``, ``accum.*``,
  ``stat.*``, ``learning_rate``, ``global_step``, ...) beside the weights.

Standard library only, like ``_converter_utils.py``.
"""
import os.path as osp
import re
from typing import Iterable, Optional, Tuple

FAMILIES = ('biubug6', 'bubbliiiing', 'mindspore', 'yakhyo')
SOURCES = {
    'biubug6': 'biubug6/Pytorch_Retinaface',
    'bubbliiiing': 'bubbliiiing/retinaface-pytorch',
    'mindspore': 'MindSpore model zoo official/cv/RetinaFace_ResNet50',
    'yakhyo': 'yakhyo/retinaface-pytorch',
}

# a key dropped on purpose (classifier, optimizer state), not "unmapped"
DROP = ''

_YAKHYO_HEADS = {
    'class_head': 'ClassHead',
    'bbox_head': 'BboxHead',
    'landmark_head': 'LandmarkHead'
}
_MS_BN = {
    'gamma': 'weight',
    'beta': 'bias',
    'moving_mean': 'running_mean',
    'moving_variance': 'running_var'
}
# optimizer state and training bookkeeping MindSpore saves with the weights
_MS_OPTIM = re.compile(
    r'^(moments|accum|stat|momentum|learning_rate|global_step|scale_sense|'
    r'current_iterator_step|last_overflow_iterator_step|epoch_num|step_num|'
    r'loss_scale|beta1_power|beta2_power|moment1|moment2)(\.|$)')


def yakhyo_to_canonical(key: str) -> Optional[str]:
    """``fx.stage1.1.0.0.weight`` -> ``body.stage1.1.0.weight``, ..."""
    m = re.match(
        r'^(class_head|bbox_head|landmark_head)\.\1\.(\d+)\.'
        r'(weight|bias)$', key)
    if m:
        head, level, param = m.groups()
        return f'{_YAKHYO_HEADS[head]}.{level}.conv1x1.{param}'
    if key.startswith(('fpn.', 'ssh1.', 'ssh2.', 'ssh3.')):
        return key  # same module names as biubug6
    if key.startswith('fx.'):
        body, prefix = key[3:], 'body.'
    elif key.startswith(('stage', 'fc.')):
        # the ImageNet backbone file (weights/mobilenetv1_025.pretrained)
        body, prefix = key, ''
    else:
        return None
    # MobileNetV1 depthwise-separable block: (dw conv, dw bn) (pw conv, pw
    # bn) as Sequential(Conv2dNormActivation, Conv2dNormActivation)
    m = re.match(r'^(stage\d\.\d+)\.([01])\.([01])\.(.+)$', body)
    if m:
        block, part, layer, param = m.groups()
        index = int(part) * 3 + int(layer)  # 0, 1, 3, 4 as in biubug6
        return f'{prefix}{block}.{index}.{param}'
    return prefix + body  # stem stage1.0.{0,1}, ResNet, MobileNetV2


def mindspore_to_canonical(key: str) -> Optional[str]:
    """``network.base.layer1.0.down_sample_layer.1.gamma`` ->
    ``body.layer1.0.downsample.1.weight``; ``DROP`` for optimizer state
    and the ImageNet classifier ``base.end_point``."""
    if _MS_OPTIM.match(key):
        return DROP
    if key.startswith('network.'):
        key = key[len('network.'):]
    if _MS_OPTIM.match(key) or key.startswith('base.end_point.'):
        return DROP
    head, _, param = key.rpartition('.')
    param = _MS_BN.get(param, param)
    key = f'{head}.{param}'
    if key.startswith('base.'):
        return 'body.' + key[5:].replace('.down_sample_layer.', '.downsample.')
    if key.startswith(('fpn.', 'ClassHead.', 'BboxHead.', 'LandmarkHead.')):
        return key
    if re.match(r'^ssh[123]\.', key):
        return key.replace('.conv7X7_3.', '.conv7x7_3.')
    return None


def biubug6_to_canonical(key: str) -> Optional[str]:
    return key


TO_CANONICAL = {
    'biubug6': biubug6_to_canonical,
    'bubbliiiing': biubug6_to_canonical,
    'yakhyo': yakhyo_to_canonical,
    'mindspore': mindspore_to_canonical,
}

# file names the projects give their checkpoints (biubug6 and bubbliiiing
# share the key layout: only the name tells them apart)
_BUBBLIIIING_NAMES = re.compile(
    r'^(Retinaface_(mobilenet0\.25|resnet50)|Epoch\d+-Total_Loss[\d.]+|'
    r'(best|last)_epoch_weights|ep\d+-loss[\d.]+(-val_loss[\d.]+)?)\.pth$')
_BIUBUG6_NAMES = re.compile(
    r'^(mobilenet0\.25|Resnet50)_(Final|epoch_\d+)\.pth$')


def family_from_keys(keys: Iterable[str]) -> Tuple[Optional[str], str]:
    """Guess the family from the (unwrapped) keys.

    Returns:
        tuple: ``(family or None, why)``; ``'biubug6'`` stands for the
        layout biubug6 and bubbliiiing share.
    """
    keys = list(keys)
    if any(
            k.startswith('fx.') or k.startswith('class_head.class_head.')
            for k in keys):
        return 'yakhyo', 'keys fx.* / class_head.class_head.*'
    if any(re.match(r'^stage[123]\.\d+\.[01]\.[01]\.', k) for k in keys):
        return 'yakhyo', ('keys stageK.N.{0,1}.{0,1}.* (yakhyo MobileNet '
                          'backbone file)')
    if any(
            k.startswith(('base.',
                          'network.base.')) or k.endswith(('.moving_mean',
                                                           '.gamma'))
            for k in keys):
        return 'mindspore', ('keys base.* / BatchNorm gamma, beta, '
                             'moving_mean, moving_variance')
    if any(k.startswith(('body.', 'ClassHead.')) for k in keys):
        return 'biubug6', 'keys body.* / ClassHead.* (biubug6 layout)'
    if any(re.match(r'^stage[123]\.\d+\.\d\.', k) for k in keys):
        return 'biubug6', 'keys stage1.* (biubug6 MobileNet backbone file)'
    return None, 'no known key layout'


def family_from_filename(path: str) -> Optional[str]:
    """``'bubbliiiing'`` / ``'biubug6'`` for their file names, else None."""
    name = osp.basename(path)
    if _BUBBLIIIING_NAMES.match(name):
        return 'bubbliiiing'
    if _BIUBUG6_NAMES.match(name):
        return 'biubug6'
    return None
