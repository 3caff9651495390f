"""mmcv_patches.ops: pure-torch nms / focal loss where mmcv has no kernel.

The fallback is forced on CPU (``MMCV_PATCHES_TORCH_OPS``) and compared bit
for bit with mmcv's CPU kernel; a missing kernel is simulated by a compiled
op that answers as mmcv's dispatcher does for an unknown device.
"""
import math
import sys

import numpy as np
import pytest
import torch

import mmcv_patches
from mmcv_patches import ops as patch_ops
from mmcv_patches import torch_ops


def _boxes(n, gen, integer=False, scale=60.):
    """Clustered boxes (so that NMS has work), some degenerate."""
    centres = torch.rand(max(1, n // 6), 2, generator=gen) * scale * 3
    c = centres[torch.randint(len(centres), (n, ), generator=gen)]
    c = c + torch.randn(n, 2, generator=gen) * 4
    wh = torch.rand(n, 2, generator=gen) * scale + 1
    b = torch.cat([c - wh / 2, c + wh / 2], 1)
    if integer:  # IoUs exactly at thresholds
        b = b.round()
    if n > 4:
        b[0, 2] = b[0, 0]  # zero width
        b[1] = b[2]  # duplicate
    return b.float()


def _scores(n, gen, ties):
    if ties:  # few distinct values: many exact ties
        return torch.randint(0, 4, (n, ), generator=gen).float() / 4
    return torch.rand(n, generator=gen)


@pytest.fixture
def force_nms(monkeypatch):
    monkeypatch.setenv(patch_ops.FORCE_ENV, 'nms')


def _mmcv_nms_both(monkeypatch, *args, **kwargs):
    from mmcv.ops import nms
    monkeypatch.delenv(patch_ops.FORCE_ENV, raising=False)
    ref = nms(*args, **kwargs)
    before = mmcv_patches.fallback_calls().get('nms@cpu', 0)
    monkeypatch.setenv(patch_ops.FORCE_ENV, 'nms')
    out = nms(*args, **kwargs)
    assert mmcv_patches.fallback_calls().get('nms@cpu', 0) == before + 1
    return ref, out


@pytest.mark.parametrize('n', [0, 1, 2, 7, 60, 400])
@pytest.mark.parametrize('ties', [False, True])
@pytest.mark.parametrize('integer', [False, True])
def test_nms_equals_mmcv_cpu(monkeypatch, n, ties, integer):
    gen = torch.Generator().manual_seed(n * 4 + 2 * ties + integer)
    boxes, scores = _boxes(n, gen, integer), _scores(n, gen, ties)
    for offset in (0, 1):
        for thr in (0., 0.3, 0.5, 0.7, 1.):
            (d0, i0), (d1, i1) = _mmcv_nms_both(
                monkeypatch, boxes, scores, thr, offset=offset)
            assert i0.dtype == i1.dtype == torch.long
            assert torch.equal(i0, i1), (offset, thr)
            assert torch.equal(d0, d1)


def test_nms_options_numpy_and_batched(monkeypatch):
    from mmcv.ops import batched_nms
    gen = torch.Generator().manual_seed(3)
    boxes, scores = _boxes(300, gen), _scores(300, gen, ties=True)
    labels = torch.randint(0, 3, (300, ), generator=gen)
    for kw in (dict(score_threshold=0.4), dict(max_num=5),
               dict(score_threshold=0.2, max_num=50)):
        (_, i0), (_, i1) = _mmcv_nms_both(
            monkeypatch, boxes, scores, 0.5, offset=1, **kw)
        assert torch.equal(i0, i1) and len(i1) > 0
    (d0, i0), (d1, i1) = _mmcv_nms_both(monkeypatch, boxes.numpy(),
                                        scores.numpy(), 0.4)
    assert isinstance(i1, np.ndarray) and np.array_equal(i0, i1)
    for cfg in (dict(type='nms', iou_threshold=0.4, offset=1),
                dict(type='nms', iou_threshold=0.5, split_thr=100),
                dict(type='nms', iou_threshold=0.5, class_agnostic=True)):
        monkeypatch.delenv(patch_ops.FORCE_ENV, raising=False)
        ref = batched_nms(boxes, scores, labels, dict(cfg))
        monkeypatch.setenv(patch_ops.FORCE_ENV, 'all')
        out = batched_nms(boxes, scores, labels, dict(cfg))
        assert torch.equal(ref[0], out[0]) and torch.equal(ref[1], out[1])


def test_nms_large_count_equals_mmcv(monkeypatch):
    """3000 boxes: several blocks of the pure-torch NMS, and mmcv
    batched_nms's split branch (more boxes than its ``split_thr``) with the
    +1 convention."""
    from mmcv.ops import batched_nms
    gen = torch.Generator().manual_seed(7)
    n = 3000
    boxes, scores = _boxes(n, gen, scale=30.), _scores(n, gen, ties=False)
    scores[::50] = 0.5  # some ties
    labels = torch.randint(0, 2, (n, ), generator=gen)
    (_, i0), (_, i1) = _mmcv_nms_both(
        monkeypatch, boxes, scores, 0.4, offset=1)
    assert torch.equal(i0, i1) and 50 < len(i1) < n
    cfg = dict(type='nms', iou_threshold=0.4, offset=1, split_thr=2000)
    monkeypatch.delenv(patch_ops.FORCE_ENV, raising=False)
    ref = batched_nms(boxes, scores, labels, dict(cfg))
    monkeypatch.setenv(patch_ops.FORCE_ENV, 'nms')
    out = batched_nms(boxes, scores, labels, dict(cfg))
    assert torch.equal(ref[1], out[1]) and torch.equal(ref[0], out[0])


def test_grouped_nms_is_per_group_nms():
    gen = torch.Generator().manual_seed(11)
    n = 500
    boxes, scores = _boxes(n, gen), _scores(n, gen, ties=False)
    groups = torch.randint(0, 5, (n, ), generator=gen) * 3  # gaps
    keep = torch_ops.grouped_nms(boxes, scores, groups, 0.4, offset=1)
    expected = []
    for g in groups.unique():
        idx = (groups == g).nonzero().squeeze(1)
        expected.append(idx[torch_ops.nms(boxes[idx], scores[idx], 0.4, 1)])
    assert torch.equal(keep, torch.cat(expected))
    # ties: broken by index inside each group
    tied = torch.full((4, ), 0.5)
    same = torch.tensor([[0., 0, 10, 10]]).repeat(4, 1)
    keep = torch_ops.grouped_nms(same, tied, torch.tensor([1, 0, 1, 0]), 0.5)
    assert keep.tolist() == [1, 0]
    assert torch_ops.grouped_nms(same[:0], tied[:0], tied[:0].long(),
                                 0.5).shape == (0, )


def test_grouped_nms_many_blocks_and_packed_copy(monkeypatch):
    """Small blocks (many host scans, several groups per block) keep what
    mmcv's kernel keeps group by group; the bit-packed copy of the
    suppression decisions (used off the CPU) unpacks to the same mask."""
    from mmcv.ops import nms as mmcv_nms
    monkeypatch.delenv(patch_ops.FORCE_ENV, raising=False)
    gen = torch.Generator().manual_seed(5)
    n = 900
    boxes, scores = _boxes(n, gen, scale=20.), _scores(n, gen, ties=False)
    groups = torch.randint(0, 4, (n, ), generator=gen)
    monkeypatch.setattr(torch_ops, '_TILE_ELEMS', 3000)
    keep = torch_ops.grouped_nms(boxes, scores, groups, 0.4, offset=1)
    expected = []
    for g in groups.unique():
        idx = (groups == g).nonzero().squeeze(1)
        expected.append(idx[mmcv_nms(boxes[idx], scores[idx], 0.4,
                                     offset=1)[1]])
    assert torch.equal(keep, torch.cat(expected)) and 40 < len(keep) < 800
    for cols in (1, 8, 13, 64):
        mask = torch.rand(7, cols, generator=gen) > 0.5
        packed = torch_ops._to_host(mask, pack=True)
        assert packed.dtype == bool
        assert np.array_equal(packed, mask.numpy())


def test_missing_kernel_falls_back_once(monkeypatch):
    """A compiled op answering "implementation for device ... not found"
    (as mmcv's dispatcher does for a device it was not built for) is
    replaced by the pure-torch op, with one warning; other errors of the
    kernel are raised."""
    from mmcv.ops import nms as mmcv_nms
    calls = []

    class FakeExt:

        @staticmethod
        def nms(boxes, scores, iou_threshold, offset):
            calls.append(boxes.device)
            raise RuntimeError('nms_impl: implementation for device '
                               f'{boxes.device} not found.\n')

        @staticmethod
        def softnms(*args, **kwargs):
            raise RuntimeError('bad argument')

    monkeypatch.delenv(patch_ops.FORCE_ENV, raising=False)
    monkeypatch.setattr(patch_ops, '_KERNEL', {})
    ext = patch_ops.TorchOpsExt(FakeExt)
    nms_mod = sys.modules['mmcv.ops.nms']  # (mmcv.ops.nms: the function)
    monkeypatch.setattr(nms_mod, 'ext_module', ext)
    gen = torch.Generator().manual_seed(0)
    boxes, scores = _boxes(50, gen), _scores(50, gen, ties=True)
    with pytest.warns(UserWarning, match='no nms kernel for cpu'):
        _, keep = mmcv_nms(boxes, scores, 0.5, offset=1)
    _, keep2 = mmcv_nms(boxes, scores, 0.5, offset=1)  # no second try
    assert len(calls) == 1 and torch.equal(keep, keep2)
    assert patch_ops.kernel_status() == {'nms@cpu': False}
    assert torch.equal(keep, torch_ops.nms(boxes, scores, 0.5, 1))
    with pytest.raises(RuntimeError, match='bad argument'):
        ext.softnms(boxes, scores)
    lite = patch_ops.TorchOpsExt(None)
    with pytest.raises(patch_ops.MissingOpError, match='roi_align_forward'):
        lite.roi_align_forward(boxes)
    assert not hasattr(lite, '__wrapped__')


def test_patch_report_lists_the_ops_patches():
    report = mmcv_patches.patch_report()
    assert report['ops.torch_fallback'] == 'applied'
    assert report['ops.mmcv_lite_ext'].startswith('skipped: mmcv has its')
    for name in ('mmcv.ops.nms', 'mmcv.ops.focal_loss'):
        assert isinstance(sys.modules[name].ext_module, patch_ops.TorchOpsExt)
    assert patch_ops.patch_torch_fallback() == \
        'already in place (mmcv-lite stand-in)'  # idempotent


def test_sigmoid_focal_loss_without_kernel():
    """mmcv has no CPU focal-loss kernel: mmcv's op runs the pure-torch
    one, which equals mmdet's python focal loss (what mmdet computes where
    it does not call mmcv's op) in value and gradient, but for the clamp of
    mmcv's kernel formula at saturated logits."""
    import torch.nn.functional as F
    from mmcv.ops import sigmoid_focal_loss as mmcv_focal
    from mmdet.models.losses.focal_loss import (py_sigmoid_focal_loss,
                                                sigmoid_focal_loss)
    gen = torch.Generator().manual_seed(0)
    n, c = 257, 5
    logits = torch.randn(n, c, generator=gen) * 2
    target = torch.randint(0, c + 1, (n, ), generator=gen)  # c = background
    weight = torch.rand(n, generator=gen)
    for reduction in ('none', 'mean', 'sum'):
        a = logits.clone().requires_grad_()
        b = logits.clone().requires_grad_()
        la = sigmoid_focal_loss(
            a, target, weight, 2.0, 0.25, reduction, avg_factor=None)
        onehot = F.one_hot(target, c + 1)[:, :c]
        lb = py_sigmoid_focal_loss(b, onehot, weight, 2.0, 0.25, reduction)
        torch.testing.assert_close(la, lb, rtol=1e-4, atol=1e-6)
        la.sum().backward()
        lb.sum().backward()
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-6)
    assert 'sigmoid_focal_loss_forward@cpu' in mmcv_patches.fallback_calls()
    assert 'sigmoid_focal_loss_backward@cpu' in mmcv_patches.fallback_calls()
    # saturated: the kernel's log(max(1 - p, FLT_MIN)) caps the loss
    sat = mmcv_focal(
        torch.tensor([[100., -100.]]), torch.tensor([2]), 2.0, 0.25, None,
        'none')
    cap = -0.75 * math.log(torch_ops.FLT_MIN)
    torch.testing.assert_close(sat, torch.tensor([[cap, 0.]]))
    # mmcv's per-class weight
    out = mmcv_focal(logits, target, 2.0, 0.25, None, 'none')
    cls_w = torch.rand(c, generator=gen)
    fg = target < c
    out_w = mmcv_focal(logits[fg], target[fg], 2.0, 0.25, cls_w, 'none')
    torch.testing.assert_close(out_w, out[fg] * cls_w[target[fg]][:, None])
    with pytest.raises(ValueError, match='background'):
        mmcv_focal(logits, target, 2.0, 0.25, cls_w, 'none')
    empty = mmcv_focal(logits[:0], target[:0], 2.0, 0.25, None, 'none')
    assert empty.shape == (0, c)
