"""ONNX export of SCRFD in insightface's layout (``tools/scrfd2onnx.py`` of
insightface ``detection/scrfd``), which insightface's runtime
(``insightface.model_zoo.scrfd.SCRFD``) and the tools built on it load."""
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .onnx_export import trace_to_onnx

__all__ = ['SCRFDInsightFaceWrapper', 'export_scrfd_insightface']


class SCRFDInsightFaceWrapper(nn.Module):
    """SCRFD network with the outputs of insightface's export.

    Input ``input.1``: (B, 3, H, W) float32, RGB, already normalised as
    ``(x - 127.5) / 128`` (what the runtime's ``cv2.dnn.blobFromImage``
    makes). Outputs, per stride ``s`` in 8, 16, 32 (in this order): all
    ``score_s`` (B, N_s, 1) sigmoid scores, then all ``bbox_s`` (B, N_s,
    4) distances (left, top, right, bottom) in units of the stride, then,
    for keypoint models, all ``kps_s`` (B, N_s, 10) offsets in units of the
    stride; ``N_s = H_s * W_s * 2``, anchor ``(y * W_s + x) * 2 + a``. The
    runtime adds the anchor centres ``(x * s, y * s)`` and multiplies by the
    stride itself; there is no decoding, threshold or NMS in the graph.

    Args:
        model (nn.Module): A built :class:`~mmdet_faces.models.SCRFD`.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        head = model.bbox_head
        if not hasattr(head, 'use_kps'):
            raise TypeError('the insightface layout is for SCRFD models, '
                            f'got a {type(head).__name__} head')
        strides = [int(s[0]) for s in head.prior_generator.strides]
        if strides != [8, 16, 32] or head.num_base_priors != 2 or \
                head.cls_out_channels != 1:
            raise ValueError(
                "insightface's runtime reads 1 class and 2 anchors at "
                f'strides 8/16/32, the model has strides {strides}, '
                f'{head.num_base_priors} anchors, {head.cls_out_channels} '
                'classes')
        self.model = model
        self.strides = strides
        self.with_kps = bool(head.use_kps)

    input_name = 'input.1'

    @staticmethod
    def example_input(b: int, h: int, w: int, gen: torch.Generator) -> Tensor:
        """A random normalised image batch of shape (b, 3, h, w)."""
        return torch.randn(b, 3, h, w, generator=gen)

    @property
    def output_names(self) -> List[str]:
        kinds = ['score', 'bbox'] + (['kps'] if self.with_kps else [])
        return [f'{k}_{s}' for k in kinds for s in self.strides]

    def decode(self, img: Tensor) -> Dict[str, Tensor]:
        """The outputs by name (for :func:`check_onnx_parity`)."""
        return dict(zip(self.output_names, self(img)))

    def forward(self, img: Tensor) -> Tuple[Tensor, ...]:
        """Args: img (Tensor): (B, 3, H, W) normalised RGB. Returns the
        tensors of :attr:`output_names`."""
        outs = self.model.bbox_head(self.model.extract_feat(img))
        widths = (1, 4, 10)
        flat = []
        for kind, preds in enumerate(outs):
            for p in preds:
                p = p.permute(0, 2, 3, 1).reshape(p.shape[0], -1, widths[kind])
                flat.append(p.sigmoid() if kind == 0 else p)
        return tuple(flat)


def export_scrfd_insightface(model: nn.Module,
                             out_file: str,
                             opset: int = 11,
                             example_shape: Tuple[int, int,
                                                  int] = (1, 640, 640),
                             dynamic: bool = True) -> SCRFDInsightFaceWrapper:
    """Export an SCRFD detector as ``scrfd2onnx.py`` does: input
    ``input.1``, outputs ``score_8`` .. ``kps_32`` (see
    :class:`SCRFDInsightFaceWrapper`), batch / height / width dynamic
    unless ``dynamic=False`` (then fixed to ``example_shape``, which the
    runtime then uses as its input size).

    Args:
        model (nn.Module): The detector (moved to CPU and eval mode).
        out_file (str): Output ``.onnx`` path.
        opset (int): ONNX opset. Defaults to 11 (the reference's).
        example_shape (tuple): (batch, height, width) traced with.
        dynamic (bool): Dynamic batch and image size. Defaults to True.

    Returns:
        SCRFDInsightFaceWrapper: The exported wrapper.
    """
    wrapper = SCRFDInsightFaceWrapper(model.cpu().eval()).eval()
    b, h, w = example_shape
    dummy = torch.randn(b, 3, h, w)
    names = wrapper.output_names
    dynamic_axes = None
    if dynamic:
        dynamic_axes = {n: {0: '?', 1: '?'} for n in names}
        dynamic_axes['input.1'] = {0: '?', 2: '?', 3: '?'}
    trace_to_onnx(wrapper, dummy, out_file, opset, 'input.1', names,
                  dynamic_axes)
    return wrapper
