"""ONNX export of RetinaFace and S3FD: dynamic batch and image size, decoded
boxes / scores / landmarks as outputs, NMS in the graph as an option."""
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
from torch import Tensor

__all__ = [
    'FaceONNXWrapper', 'export_onnx', 'grid_anchors', 'onnx_nms',
    'check_onnx_parity', 'compare_outputs', 'trace_to_onnx'
]


def grid_anchors(featmap: Tensor, base_anchors: Tensor,
                 stride: Tuple[float, float]) -> Tensor:
    """All anchors of one level, computed from the feature map's (traced,
    hence dynamic) size.

    Equals mmdet ``AnchorGenerator.single_level_grid_priors``: anchor
    ``(y * W + x) * num_base + a`` is ``base_anchors[a]`` shifted by
    ``(x * stride_w, y * stride_h)``.

    Args:
        featmap (Tensor): (B, C, H, W) feature map of the level.
        base_anchors (Tensor): (num_base, 4) x1y1x2y2 anchors at (0, 0).
        stride (tuple[float, float]): (stride_w, stride_h).

    Returns:
        Tensor: (H * W * num_base, 4).
    """
    h, w = featmap.shape[-2:]
    dtype = base_anchors.dtype
    shift_x = torch.arange(w, device=featmap.device).to(dtype) * stride[0]
    shift_y = torch.arange(h, device=featmap.device).to(dtype) * stride[1]
    zeros = shift_y[:, None] * 0 + shift_x[None, :] * 0  # (H, W)
    xx = (shift_x[None, :] + zeros).reshape(-1)
    yy = (shift_y[:, None] + zeros).reshape(-1)
    shifts = torch.stack([xx, yy, xx, yy], dim=-1)
    return (base_anchors[None, :, :] + shifts[:, None, :]).reshape(-1, 4)


class _ONNXNonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression``; eager forward with mmcv's NMS (no +1)."""

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, max_out: Tensor,
                iou_thr: Tensor, score_thr: Tensor) -> Tensor:
        from mmcv.ops import nms
        keep_all = []
        for b in range(boxes.shape[0]):
            for c in range(scores.shape[1]):
                s = scores[b, c]
                valid = torch.nonzero(s > score_thr).reshape(-1)
                if valid.numel() == 0:
                    continue
                _, keep = nms(boxes[b, valid].float(), s[valid].float(),
                              float(iou_thr))
                keep = valid[keep][:int(max_out)]
                sel = torch.stack(
                    [torch.full_like(keep, b),
                     torch.full_like(keep, c), keep], 1)
                keep_all.append(sel)
        if not keep_all:
            return boxes.new_zeros((0, 3), dtype=torch.long)
        return torch.cat(keep_all).long()

    @staticmethod
    def symbolic(g, boxes, scores, max_out, iou_thr, score_thr):
        return g.op(
            'NonMaxSuppression',
            boxes,
            scores,
            max_out,
            iou_thr,
            score_thr,
            center_point_box_i=0)


def onnx_nms(boxes: Tensor, scores: Tensor, max_out: int, iou_thr: float,
             score_thr: float) -> Tensor:
    """Batched single-class NMS that exports as ONNX ``NonMaxSuppression``.

    Args:
        boxes (Tensor): (B, N, 4) x1y1x2y2.
        scores (Tensor): (B, N).
        max_out (int): Boxes kept per image.
        iou_thr (float): IoU threshold (areas without +1).
        score_thr (float): Keep scores above it.

    Returns:
        Tensor: (K, 3) int64 ``[batch index, 0, box index]``, per image in
        decreasing score.
    """
    return _ONNXNonMaxSuppression.apply(
        boxes, scores[:, None, :], torch.tensor([max_out], dtype=torch.long),
        torch.tensor([iou_thr], dtype=torch.float32),
        torch.tensor([score_thr], dtype=torch.float32))


class FaceONNXWrapper(nn.Module):
    """Image batch in, decoded detections out, for ONNX export.

    Input ``image``: (B, 3, H, W) float32, BGR, 0-255, any B, H, W (the
    model's ``pad_size_divisor`` must be 1, as in this project's configs;
    resizing is the caller's: outputs are in input pixels). The graph
    applies the model's data preprocessor (channel flip to RGB if
    ``bgr_to_rgb``, ``(x - mean) / std``), the network, the anchors of the
    actual feature-map sizes and the head's box / landmark coders.

    Outputs without NMS (every anchor, in the head's order):

    - ``boxes`` (B, A, 4) x1y1x2y2, ``scores`` (B, A) softmax face score,
    - ``landmarks`` (B, A, 5, 2) (RetinaFace only).

    With ``with_nms=True``: score threshold, NMS and at most
    ``max_per_img`` per image in the graph (ONNX ``NonMaxSuppression``:
    areas without the +1 of RetinaFace's ``offset=1`` NMS, no ``nms_pre``
    top-k), outputs ``batch_inds`` (K, ), ``boxes`` (K, 4), ``scores``
    (K, ) and ``landmarks`` (K, 5, 2), images in order, scores decreasing.

    Args:
        model (nn.Module): A built ``RetinaFace`` or ``S3FD`` detector.
        with_nms (bool): Put the NMS in the graph. Defaults to False.
        score_thr (float, optional): NMS score threshold (default: the
            model's ``test_cfg.score_thr``).
        iou_thr (float, optional): NMS IoU (default: the model's).
        max_per_img (int, optional): Kept per image (default: the model's
            ``max_per_img``, or 10000 when that is <= 0).
    """

    def __init__(self,
                 model: nn.Module,
                 with_nms: bool = False,
                 score_thr: Optional[float] = None,
                 iou_thr: Optional[float] = None,
                 max_per_img: Optional[int] = None) -> None:
        super().__init__()
        self.model = model
        head = model.bbox_head
        self.with_keypoints = hasattr(head, 'landmark_coder')
        dp = model.data_preprocessor
        if getattr(dp, 'pad_size_divisor', 1) != 1:
            raise ValueError('ONNX export supports pad_size_divisor=1 only, '
                             f'got {dp.pad_size_divisor}')
        self.bgr_to_rgb = bool(getattr(dp, '_channel_conversion', False))
        if getattr(dp, '_enable_normalize', False):
            mean = dp.mean.detach().reshape(1, -1, 1, 1).float().clone()
            std = dp.std.detach().reshape(1, -1, 1, 1).float().clone()
        else:
            mean = torch.zeros(1, 3, 1, 1)
            std = torch.ones(1, 3, 1, 1)
        self.register_buffer('mean', mean, persistent=False)
        self.register_buffer('std', std, persistent=False)
        gen = head.prior_generator
        for i, base in enumerate(gen.base_anchors):
            self.register_buffer(
                f'base_anchors_{i}', base.float().clone(), persistent=False)
        self.strides = [(float(s[0]), float(s[1])) for s in gen.strides]
        self.num_base = gen.num_base_priors[0]
        coder = head.bbox_coder
        self.coder_args = dict(
            means=coder.means,
            stds=coder.stds,
            max_shape=None,
            wh_ratio_clip=getattr(
                head, 'wh_ratio_clip',
                getattr(head, 'decode_wh_ratio_clip', 16 / 1000)),
            clip_border=coder.clip_border,
            add_ctr_clamp=coder.add_ctr_clamp,
            ctr_clamp=coder.ctr_clamp)
        cfg = head.test_cfg or {}
        self.with_nms = with_nms
        self.score_thr = float(
            cfg.get('score_thr', 0.02) if score_thr is None else score_thr)
        nms_cfg = cfg.get('nms', {}) or {}
        self.iou_thr = float(
            nms_cfg.get('iou_threshold', 0.4) if iou_thr is None else iou_thr)
        mpi = cfg.get('max_per_img', -1) if max_per_img is None \
            else max_per_img
        self.max_per_img = int(mpi) if mpi is not None and mpi > 0 else 10000

    input_name = 'image'

    @staticmethod
    def example_input(b: int, h: int, w: int, gen: torch.Generator) -> Tensor:
        """Random BGR pixels 0-255 of shape (b, 3, h, w)."""
        return torch.rand(b, 3, h, w, generator=gen) * 255

    @property
    def output_names(self) -> List[str]:
        names = ['boxes', 'scores']
        if self.with_keypoints:
            names.append('landmarks')
        return (['batch_inds'] + names) if self.with_nms else names

    @staticmethod
    def _flatten(preds: Sequence[Tensor], k: int) -> Tensor:
        return torch.cat(
            [p.permute(0, 2, 3, 1).reshape(p.shape[0], -1, k) for p in preds],
            1)

    def decode(self, img: Tensor) -> Dict[str, Tensor]:
        """Decoded per-anchor outputs (the graph without NMS)."""
        x = img.float()
        if self.bgr_to_rgb:
            x = x[:, [2, 1, 0]]
        x = (x - self.mean) / self.std
        feats = self.model.extract_feat(x)
        outs = self.model.bbox_head(feats)
        cls_scores, bbox_preds = outs[0], outs[1]
        anchors = torch.cat([
            grid_anchors(c, getattr(self, f'base_anchors_{i}'),
                         self.strides[i]) for i, c in enumerate(cls_scores)
        ])
        num_cls = cls_scores[0].shape[1] // self.num_base
        cls = self._flatten(cls_scores, num_cls)
        deltas = self._flatten(bbox_preds, 4)
        scores = cls.float().softmax(-1)[..., 1]
        flat_anchors = (anchors[None] + deltas[..., :1].float() * 0)
        boxes = delta2bbox(
            flat_anchors.reshape(-1, 4),
            deltas.float().reshape(-1, 4), **self.coder_args)
        out = dict(boxes=boxes.reshape(img.shape[0], -1, 4), scores=scores)
        if self.with_keypoints:
            coder = self.model.bbox_head.landmark_coder
            kpt = self._flatten(outs[2], 2 * coder.num_points).float()
            out['landmarks'] = coder.decode(flat_anchors, kpt)
        return out

    def forward(self, img: Tensor) -> Tuple[Tensor, ...]:
        """Args: img (Tensor): (B, 3, H, W) float BGR. Returns the tensors
        of :attr:`output_names`."""
        out = self.decode(img)
        if not self.with_nms:
            return tuple(out[k] for k in self.output_names)
        boxes, scores = out['boxes'], out['scores']
        sel = onnx_nms(boxes, scores, self.max_per_img, self.iou_thr,
                       self.score_thr)
        batch_inds = sel[:, 0]
        flat = batch_inds * scores.shape[1] + sel[:, 2]
        res = [
            batch_inds,
            boxes.reshape(-1, 4)[flat],
            scores.reshape(-1)[flat]
        ]
        if self.with_keypoints:
            kpt = out['landmarks']
            res.append(kpt.reshape(-1, kpt.shape[-2], 2)[flat])
        return tuple(res)


def export_onnx(model: nn.Module,
                out_file: str,
                with_nms: bool = False,
                opset: int = 17,
                example_shape: Tuple[int, int, int] = (1, 320, 320),
                score_thr: Optional[float] = None,
                iou_thr: Optional[float] = None,
                max_per_img: Optional[int] = None) -> FaceONNXWrapper:
    """Export a RetinaFace / S3FD detector to ONNX (legacy TorchScript
    exporter, dynamic axes: batch, height, width).

    Args:
        model (nn.Module): The detector (moved to CPU and eval mode).
        out_file (str): Output ``.onnx`` path.
        with_nms (bool): NMS in the graph. Defaults to False.
        opset (int): ONNX opset. Defaults to 17.
        example_shape (tuple): (batch, height, width) traced with; the graph
            is valid for any.
        score_thr, iou_thr, max_per_img: NMS settings (see
            :class:`FaceONNXWrapper`).

    Returns:
        FaceONNXWrapper: The exported wrapper (for checks in PyTorch).
    """
    model = model.cpu().eval()
    wrapper = FaceONNXWrapper(model, with_nms, score_thr, iou_thr,
                              max_per_img).eval()
    b, h, w = example_shape
    dummy = torch.rand(b, 3, h, w) * 255
    names = wrapper.output_names
    dyn = {'image': {0: 'batch', 2: 'height', 3: 'width'}}
    for n in names:
        dyn[n] = {0: 'num_dets'} if with_nms else {0: 'batch', 1: 'anchors'}
    trace_to_onnx(wrapper, dummy, out_file, opset, 'image', names, dyn)
    return wrapper


def trace_to_onnx(wrapper: nn.Module, dummy: Tensor, out_file: str, opset: int,
                  input_name: str, output_names: List[str],
                  dynamic_axes: Optional[dict]) -> None:
    """``torch.onnx.export`` with the legacy TorchScript exporter (no
    ``onnxscript``), constant folding, no grad, its notes silenced; the
    output folder is created.

    Args:
        wrapper (nn.Module): Module to trace, in eval mode.
        dummy (Tensor): Example input.
        out_file (str): Output ``.onnx`` path.
        opset (int): ONNX opset.
        input_name (str): Name of the input.
        output_names (list[str]): Names of the outputs.
        dynamic_axes (dict, optional): Dynamic axes per name.
    """
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer + legacy-exporter notes
        torch.onnx.export(
            wrapper, (dummy, ),
            out_file,
            dynamo=False,
            opset_version=opset,
            input_names=[input_name],
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            keep_initializers_as_inputs=False,
            do_constant_folding=True)


def check_onnx_parity(wrapper: nn.Module,
                      onnx_file: str,
                      shapes: Sequence[Tuple[int, int, int]],
                      seed: int = 0,
                      atol: float = 1e-4) -> List[dict]:
    """Run the ONNX file (onnxruntime, CPU) and the PyTorch wrapper on
    random images and compare the decoded outputs (without NMS); for a
    :class:`FaceONNXWrapper` or a ``SCRFDInsightFaceWrapper`` (any wrapper
    with ``input_name``, ``output_names``, ``example_input`` and
    ``decode``).

    An output passes when every element is within ``atol`` plus 2 float32
    ulps of the PyTorch value (one ulp is 1.2e-4 above 1024 px, so a bare
    1e-4 cannot hold for coordinates of large images).

    Args:
        wrapper (nn.Module): The wrapper exported (without NMS).
        onnx_file (str): The exported file.
        shapes (list[tuple]): (batch, height, width) to try.
        seed (int): Random seed of the images.
        atol (float): Absolute tolerance. Defaults to 1e-4.

    Returns:
        list[dict]: Per shape ``shape``, ``max_abs_diff`` (dict per output)
        and ``passed`` (bool).
    """
    import onnxruntime as ort
    sess = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    gen = torch.Generator().manual_seed(seed)
    report = []
    for b, h, w in shapes:
        img = wrapper.example_input(b, h, w, gen)
        with torch.no_grad():
            ref = wrapper.decode(img)
        outs = sess.run(wrapper.output_names,
                        {wrapper.input_name: img.numpy()})
        report.append(
            compare_outputs(wrapper.output_names, outs,
                            [ref[n].numpy() for n in wrapper.output_names],
                            atol, (b, h, w)))
    return report


def compare_outputs(names: Sequence[str], onnx_outs: Sequence[np.ndarray],
                    torch_outs: Sequence[np.ndarray], atol: float,
                    shape: Tuple[int, int, int]) -> dict:
    """One line of a parity report: every output within ``atol`` plus 2
    float32 ulps of the PyTorch value.

    Args:
        names (Sequence[str]): Output names.
        onnx_outs, torch_outs (Sequence[np.ndarray]): The outputs.
        atol (float): Absolute tolerance.
        shape (tuple): (batch, height, width) of the input, for the report.

    Returns:
        dict: ``shape``, ``max_abs_diff`` (per output) and ``passed``.

    Raises:
        AssertionError: An output of another shape.
    """
    diffs, passed = {}, True
    for name, arr, r in zip(names, onnx_outs, torch_outs):
        if arr.shape != r.shape:
            raise AssertionError(f'{name}: ONNX shape {arr.shape} != '
                                 f'PyTorch {r.shape} at {shape}')
        err = np.abs(arr - r)
        diffs[name] = float(err.max()) if r.size else 0.
        tol = atol + 2 * np.spacing(np.abs(r).astype(np.float32))
        passed &= bool((err <= tol).all())
    return dict(shape=shape, max_abs_diff=diffs, passed=passed)
