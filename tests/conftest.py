"""Shared pytest fixtures.

``shared_dir``: the ``../shared`` folder beside the checkout (or
``$MMDET_FACES_SHARED``); tests that use it skip when it is absent.
``tiny_widerface``: a small generated WIDER-format data set (session scoped).
"""
import os
import os.path as osp
import sys

import pytest
import torch

# One intra-op thread: the suite runs on 2-core machines next to data-loader
# workers and subprocesses; OpenMP spinning on oversubscribed cores makes
# small convolutions ~10x slower than a single thread.
torch.set_num_threads(1)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def _shared_dir():
    cand = os.environ.get('MMDET_FACES_SHARED') or osp.join(
        osp.dirname(REPO_ROOT), 'shared')
    return cand if osp.isdir(cand) else None


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_dir():
    path = _shared_dir()
    if path is None:
        pytest.skip('../shared (real WIDER val ground truth and reference '
                    'cases) is not beside this checkout')
    return path


@pytest.fixture(scope='session')
def wider_val_gt_dir(shared_dir):
    path = osp.join(shared_dir, 'widerface_val_gt')
    if not osp.isfile(osp.join(path, 'wider_face_val.mat')):
        pytest.skip(f'{path} has no wider_face_val.mat')
    return path


@pytest.fixture(scope='session')
def tiny_widerface(tmp_path_factory):
    """A small synthetic WIDER Face data set: 24 train and 12 val images."""
    from tools.dataset_converters.synthetic import generate_widerface
    root = tmp_path_factory.mktemp('tiny_widerface')
    generate_widerface(
        str(root),
        num_train=24,
        num_val=12,
        seed=0,
        max_size=320,
        progress=False)
    return str(root)


@pytest.fixture(scope='session')
def mnet_ckpt(tmp_path_factory):
    """A random RetinaFace-MobileNet0.25 checkpoint whose scores look like a
    trained model's (``face_api_utils.make_checkpoint``, seed 0)."""
    from tests.test_apis.face_api_utils import MNET_CFG, make_checkpoint
    path = tmp_path_factory.mktemp('mnet_ckpt') / 'mnet.pth'
    return make_checkpoint(MNET_CFG, str(path), seed=0)


@pytest.fixture(scope='session')
def other_model_ckpts(tmp_path_factory):
    """Checkpoints that do not fit ``MNET_CFG``: ``{'s3fd': path,
    'mnet050': path}`` (another detector; RetinaFace of another width)."""
    from tests.test_apis.face_api_utils import (REPO_ROOT, S3FD_CFG,
                                                make_checkpoint)
    root = tmp_path_factory.mktemp('other_model_ckpts')
    mnet050 = (f'{REPO_ROOT}/configs/retinaface/'
               'retinaface_mnet050_yakhyo_1xb32-250e_widerface.py')
    return {
        name: make_checkpoint(cfg, str(root / f'{name}.pth'))
        for name, cfg in (('s3fd', S3FD_CFG), ('mnet050', mnet050))
    }


@pytest.fixture(scope='session')
def scrfd_ckpts(tmp_path_factory):
    """Face-like random SCRFD-500M checkpoints, ``{'500m': path,
    '500m_kps': path}`` (``scrfd_utils.face_like_checkpoint``)."""
    from tests.test_models.scrfd_utils import face_like_checkpoint
    root = tmp_path_factory.mktemp('scrfd_ckpts')
    return {
        arch: face_like_checkpoint(arch, str(root / f'{arch}.pth'))
        for arch in ('500m', '500m_kps')
    }


@pytest.fixture(autouse=True)
def _mmdet_default_scope(request):
    """Run every test with mmdet as the default registry scope.

    A Runner built by an earlier test (e.g. a toy model in the mmcv_patches
    tests) leaves its own scope current; mmdet components then build their
    sub-modules from the wrong root registry, exactly as they would in any
    process with another default scope.
    """
    from mmengine.registry import DefaultScope
    DefaultScope.get_instance(
        f'mmdet_faces_test_{request.node.nodeid}', scope_name='mmdet')
    yield
