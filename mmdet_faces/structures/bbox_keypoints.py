"""Horizontal boxes that carry per-box keypoints (face landmarks).

``BBoxKeypoints`` lets mmdet's geometric transforms (Resize, RandomFlip,
RandomCrop, Pad, RandomAffine, ...) move landmarks together with their boxes,
following the pattern of mmpose's ``projects/yolox_pose``.
"""
from copy import deepcopy
from typing import List, Optional, Sequence, Tuple, Type, TypeVar, Union

import cv2
import numpy as np
import torch
from mmdet.structures.bbox import (HorizontalBoxes, register_box,
                                   register_box_converter)
from torch import Tensor

T = TypeVar('T')
DeviceType = Union[str, torch.device]

#: Flip order of the 5 face landmarks (left eye, right eye, nose, left mouth
#: corner, right mouth corner; image left/right): swap 0<->1 and 3<->4.
FACE_FLIP_INDICES = (1, 0, 2, 4, 3)


@register_box(name='bbox_kpt')
class BBoxKeypoints(HorizontalBoxes):
    """Horizontal boxes (x1, y1, x2, y2) with K keypoints per box.

    Geometric in-place ops move the keypoints with the boxes: ``flip_``
    (mirrors and, for horizontal / diagonal flips, reorders points by
    ``flip_indices``), ``translate_``, ``rescale_``, ``rotate_``,
    ``project_``. ``clip_`` clips the boxes only: keypoints keep their
    positions (as the RetinaFace reference does after resizing), and
    ``resize_`` (box size about its centre) leaves keypoints unchanged.

    Args:
        data (Tensor | np.ndarray | Sequence): boxes, shape (..., 4).
        keypoints (Tensor | np.ndarray, optional): shape (..., K, 2) with the
            same leading shape as ``data``. None gives K = 0.
        keypoints_visible (Tensor | np.ndarray, optional): shape (..., K),
            1 = labelled, 0 = not labelled. None gives all ones.
        dtype (torch.dtype, optional): dtype of boxes and keypoints.
        device (str | torch.device, optional): device.
        clone (bool): clone the inputs. Defaults to True.
        in_mode (str, optional): 'xyxy' or 'cxcywh' for ``data``.
        flip_indices (Sequence[int], optional): new order of the points after
            a horizontal flip. None: ``FACE_FLIP_INDICES`` when K == 5, else
            the identity.
    """

    def __init__(self,
                 data: Union[Tensor, np.ndarray, Sequence],
                 keypoints: Optional[Union[Tensor, np.ndarray]] = None,
                 keypoints_visible: Optional[Union[Tensor, np.ndarray]] = None,
                 dtype: Optional[torch.dtype] = None,
                 device: Optional[DeviceType] = None,
                 clone: bool = True,
                 in_mode: Optional[str] = None,
                 flip_indices: Optional[Sequence[int]] = None) -> None:
        super().__init__(
            data=data,
            dtype=dtype,
            device=device,
            clone=clone,
            in_mode=in_mode)
        lead = tuple(self.tensor.shape[:-1])
        if keypoints is None:
            keypoints = self.tensor.new_zeros(lead + (0, 2))
        keypoints = torch.as_tensor(keypoints)
        if keypoints.numel() == 0 and keypoints.dim() != len(lead) + 2:
            keypoints = keypoints.reshape(lead + (0, 2))
        keypoints = keypoints.to(
            dtype=dtype or self.tensor.dtype, device=self.tensor.device)
        if tuple(keypoints.shape[:-2]) != lead or keypoints.shape[-1] != 2:
            raise ValueError(
                f'keypoints must have shape {lead + ("K", 2)}, got '
                f'{tuple(keypoints.shape)}')
        num_kpts = keypoints.shape[-2]
        if keypoints_visible is None:
            keypoints_visible = keypoints.new_ones(lead + (num_kpts, ))
        keypoints_visible = torch.as_tensor(keypoints_visible).to(
            dtype=keypoints.dtype, device=keypoints.device)
        if keypoints_visible.numel() == 0:
            keypoints_visible = keypoints_visible.reshape(lead + (num_kpts, ))
        if tuple(keypoints_visible.shape) != lead + (num_kpts, ):
            raise ValueError(
                f'keypoints_visible must have shape {lead + (num_kpts, )}, '
                f'got {tuple(keypoints_visible.shape)}')
        if clone:
            keypoints = keypoints.clone()
            keypoints_visible = keypoints_visible.clone()
        if flip_indices is None:
            flip_indices = FACE_FLIP_INDICES if num_kpts == 5 else range(
                num_kpts)
        flip_indices = [int(i) for i in flip_indices]
        if sorted(flip_indices) != list(range(num_kpts)):
            raise ValueError(f'flip_indices {flip_indices} is not a '
                             f'permutation of {num_kpts} points')
        self.keypoints = keypoints
        self.keypoints_visible = keypoints_visible
        self.flip_indices = flip_indices

    # ------------------------------------------------------------------
    # helpers
    def _new(self: T,
             boxes: Tensor,
             keypoints: Tensor,
             keypoints_visible: Tensor,
             clone: bool = False) -> T:
        return type(self)(
            boxes,
            keypoints,
            keypoints_visible,
            clone=clone,
            flip_indices=self.flip_indices)

    @property
    def num_keypoints(self) -> int:
        """Number of keypoints per box (K)."""
        return self.keypoints.shape[-2]

    @property
    def has_keypoints(self) -> Tensor:
        """Bool tensor (...,): the box has at least one labelled point."""
        return (self.keypoints_visible > 0).any(dim=-1)

    # ------------------------------------------------------------------
    # geometric in-place ops
    def flip_(self,
              img_shape: Tuple[int, int],
              direction: str = 'horizontal') -> None:
        """Flip boxes and keypoints in-place.

        Horizontal and diagonal flips mirror x and reorder the points by
        ``flip_indices`` (image-left/right points swap); a vertical flip
        mirrors y and keeps the order.

        Args:
            img_shape (Tuple[int, int]): image (height, width).
            direction (str): 'horizontal', 'vertical' or 'diagonal'.
        """
        super().flip_(img_shape, direction)
        kpts = self.keypoints.clone()
        if direction in ('horizontal', 'diagonal'):
            kpts[..., 0] = img_shape[1] - kpts[..., 0]
        if direction in ('vertical', 'diagonal'):
            kpts[..., 1] = img_shape[0] - kpts[..., 1]
        if direction in ('horizontal', 'diagonal') and self.num_keypoints:
            order = torch.as_tensor(self.flip_indices, device=kpts.device)
            kpts = kpts.index_select(-2, order)
            self.keypoints_visible = self.keypoints_visible.index_select(
                -1, order)
        self.keypoints = kpts

    def translate_(self, distances: Tuple[float, float]) -> None:
        """Translate boxes and keypoints in-place by (dx, dy)."""
        super().translate_(distances)
        self.keypoints = self.keypoints + self.keypoints.new_tensor(distances)

    def rescale_(self, scale_factor: Tuple[float, float]) -> None:
        """Rescale boxes and keypoints in-place by (sx, sy)."""
        super().rescale_(scale_factor)
        self.keypoints = self.keypoints * self.keypoints.new_tensor(
            scale_factor)

    def clip_(self, img_shape: Tuple[int, int]) -> None:
        """Clip the boxes to (height, width) in-place; keypoints unchanged."""
        super().clip_(img_shape)

    def rotate_(self, center: Tuple[float, float], angle: float) -> None:
        """Rotate boxes and keypoints in-place.

        Args:
            center (Tuple[float, float]): rotation origin (x, y).
            angle (float): degrees, positive = clockwise (as mmdet).
        """
        super().rotate_(center, angle)
        matrix = self.keypoints.new_tensor(
            cv2.getRotationMatrix2D(center, -angle, 1))
        kpts = self.keypoints
        self.keypoints = kpts @ matrix[:, :2].T + matrix[:, 2]

    def project_(self, homography_matrix: Union[Tensor, np.ndarray]) -> None:
        """Apply a 3x3 homography to boxes and keypoints in-place."""
        super().project_(homography_matrix)
        matrix = torch.as_tensor(homography_matrix).to(self.keypoints)
        kpts = self.keypoints
        homo = torch.cat([kpts, kpts.new_ones(kpts.shape[:-1] + (1, ))], -1)
        homo = homo @ matrix.T
        self.keypoints = homo[..., :2] / homo[..., 2:3]

    # ------------------------------------------------------------------
    # tensor-like ops that must keep the keypoints
    def __getitem__(self: T, index) -> T:
        """Index boxes and keypoints together (int, slice, bool/int masks)."""
        boxes = self.tensor
        if isinstance(index, np.ndarray):
            index = torch.as_tensor(index, device=self.device)
        if isinstance(index, Tensor) and index.dtype == torch.bool:
            assert index.dim() < boxes.dim()
        elif isinstance(index, tuple):
            assert len(index) < boxes.dim()
            if Ellipsis in index:
                assert index[-1] is Ellipsis
        new_boxes = boxes[index]
        kpts = self.keypoints[index]
        vis = self.keypoints_visible[index]
        if new_boxes.dim() == 1:
            new_boxes = new_boxes.reshape(1, -1)
            kpts = kpts.reshape(1, -1, 2)
            vis = vis.reshape(1, -1)
        return self._new(new_boxes, kpts, vis)

    def __setitem__(self, index, values: 'BBoxKeypoints') -> None:
        """Set boxes and keypoints from another ``BBoxKeypoints``."""
        assert type(values) is type(self), \
            'The value to be set must be the same box type as self'
        if isinstance(index, np.ndarray):
            index = torch.as_tensor(index, device=self.device)
        self.tensor[index] = values.tensor
        self.keypoints[index] = values.keypoints
        self.keypoints_visible[index] = values.keypoints_visible

    def __deepcopy__(self, memo):
        cls = self.__class__
        other = cls.__new__(cls)
        memo[id(self)] = other
        other.tensor = self.tensor.clone()
        other.keypoints = self.keypoints.clone()
        other.keypoints_visible = self.keypoints_visible.clone()
        other.flip_indices = deepcopy(self.flip_indices)
        return other

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(\n{self.tensor},\n'
                f'keypoints={self.keypoints},\n'
                f'keypoints_visible={self.keypoints_visible})')

    def clone(self: T) -> T:
        return self._new(
            self.tensor, self.keypoints, self.keypoints_visible, clone=True)

    def to(self: T, *args, **kwargs) -> T:
        # dtype casts apply to boxes and keypoints alike
        return self._new(
            self.tensor.to(*args, **kwargs),
            self.keypoints.to(*args, **kwargs),
            self.keypoints_visible.to(*args, **kwargs))

    def cpu(self: T) -> T:
        return self._new(self.tensor.cpu(), self.keypoints.cpu(),
                         self.keypoints_visible.cpu())

    def cuda(self: T, *args, **kwargs) -> T:
        return self._new(
            self.tensor.cuda(*args, **kwargs),
            self.keypoints.cuda(*args, **kwargs),
            self.keypoints_visible.cuda(*args, **kwargs))

    def detach(self: T) -> T:
        return self._new(self.tensor.detach(), self.keypoints.detach(),
                         self.keypoints_visible.detach())

    def empty_boxes(self: T,
                    dtype: Optional[torch.dtype] = None,
                    device: Optional[DeviceType] = None) -> T:
        """Empty boxes (0, 4) with (0, K, 2) keypoints."""
        boxes = self.tensor.new_zeros(0, 4, dtype=dtype, device=device)
        kpts = self.keypoints.new_zeros(
            0, self.num_keypoints, 2, dtype=dtype, device=device)
        vis = self.keypoints_visible.new_zeros(
            0, self.num_keypoints, dtype=dtype, device=device)
        return self._new(boxes, kpts, vis)

    def fake_boxes(self: T,
                   sizes: Tuple[int],
                   fill: float = 0,
                   dtype: Optional[torch.dtype] = None,
                   device: Optional[DeviceType] = None) -> T:
        """Boxes of ``sizes`` filled with ``fill``; keypoints zero, unlabelled.
        """
        boxes = self.tensor.new_full(sizes, fill, dtype=dtype, device=device)
        lead = tuple(boxes.shape[:-1])
        kpts = boxes.new_zeros(lead + (self.num_keypoints, 2))
        vis = boxes.new_zeros(lead + (self.num_keypoints, ))
        return self._new(boxes, kpts, vis)

    def _reshape_lead(self: T, lead_fn) -> T:
        boxes = lead_fn(self.tensor, 1)
        kpts = lead_fn(self.keypoints, 2)
        vis = lead_fn(self.keypoints_visible, 1)
        return self._new(boxes, kpts, vis)

    def view(self: T, *shape) -> T:
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(
            shape[0], (tuple, list, torch.Size)) else shape
        lead = shape[:-1]
        return self._reshape_lead(
            lambda t, n: t.view(*lead, *t.shape[t.dim() - n:]))

    def reshape(self: T, *shape) -> T:
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(
            shape[0], (tuple, list, torch.Size)) else shape
        lead = shape[:-1]
        return self._reshape_lead(
            lambda t, n: t.reshape(*lead, *t.shape[t.dim() - n:]))

    def flatten(self: T, start_dim: int = 0, end_dim: int = -2) -> T:
        assert end_dim != -1 and end_dim != self.tensor.dim() - 1
        end = end_dim % self.tensor.dim()
        return self._reshape_lead(lambda t, n: t.flatten(start_dim, end))

    def squeeze(self: T, dim: Optional[int] = None) -> T:
        if dim is None:
            lead = [s for s in self.tensor.shape[:-1] if s != 1]
            return self.reshape(*lead, 4)
        dim = dim % self.tensor.dim()
        assert dim != self.tensor.dim() - 1
        return self._reshape_lead(lambda t, n: t.squeeze(dim))

    def unsqueeze(self: T, dim: int) -> T:
        assert dim != -1 and dim != self.tensor.dim()
        dim = dim % (self.tensor.dim() + 1)
        return self._reshape_lead(lambda t, n: t.unsqueeze(dim))

    def split(self: T,
              split_size_or_sections: Union[int, Sequence[int]],
              dim: int = 0) -> List[T]:
        assert dim != -1 and dim != self.tensor.dim() - 1
        parts = zip(
            self.tensor.split(split_size_or_sections, dim=dim),
            self.keypoints.split(split_size_or_sections, dim=dim),
            self.keypoints_visible.split(split_size_or_sections, dim=dim))
        return [self._new(b, k, v) for b, k, v in parts]

    def chunk(self: T, chunks: int, dim: int = 0) -> List[T]:
        assert dim != -1 and dim != self.tensor.dim() - 1
        parts = zip(
            self.tensor.chunk(chunks, dim=dim),
            self.keypoints.chunk(chunks, dim=dim),
            self.keypoints_visible.chunk(chunks, dim=dim))
        return [self._new(b, k, v) for b, k, v in parts]

    def unbind(self: T, dim: int = 0) -> List[T]:
        assert dim != -1 and dim != self.tensor.dim() - 1
        parts = zip(
            self.tensor.unbind(dim=dim), self.keypoints.unbind(dim=dim),
            self.keypoints_visible.unbind(dim=dim))
        return [self._new(b, k, v) for b, k, v in parts]

    def _not_supported(self, *args, **kwargs):
        raise NotImplementedError(
            f'{self.__class__.__name__} does not support this op; convert '
            'to HorizontalBoxes first (boxes.convert_to("hbox")).')

    expand = repeat = transpose = permute = _not_supported

    @classmethod
    def cat(cls: Type[T], box_list: Sequence[T], dim: int = 0) -> T:
        """Concatenate boxes and keypoints along ``dim`` (not the last)."""
        assert isinstance(box_list, Sequence)
        if len(box_list) == 0:
            raise ValueError('box_list should not be a empty list.')
        assert dim != -1 and dim != box_list[0].dim() - 1
        assert all(isinstance(boxes, cls) for boxes in box_list)
        num_kpts = {b.num_keypoints for b in box_list if len(b)}
        if len(num_kpts) > 1:
            raise ValueError(f'cannot cat boxes with {num_kpts} keypoints')
        k = num_kpts.pop() if num_kpts else box_list[0].num_keypoints
        kpts = [
            b.keypoints.reshape(b.tensor.shape[:-1] + (k, 2)) for b in box_list
        ]
        vis = [
            b.keypoints_visible.reshape(b.tensor.shape[:-1] + (k, ))
            for b in box_list
        ]
        return cls(
            torch.cat([b.tensor for b in box_list], dim=dim),
            torch.cat(kpts, dim=dim),
            torch.cat(vis, dim=dim),
            clone=False,
            flip_indices=box_list[0].flip_indices
            if box_list[0].num_keypoints == k else None)

    @classmethod
    def stack(cls: Type[T], box_list: Sequence[T], dim: int = 0) -> T:
        """Stack boxes and keypoints along a new leading ``dim``."""
        assert isinstance(box_list, Sequence)
        if len(box_list) == 0:
            raise ValueError('box_list should not be a empty list.')
        assert dim != -1 and dim != box_list[0].dim()
        assert all(isinstance(boxes, cls) for boxes in box_list)
        return cls(
            torch.stack([b.tensor for b in box_list], dim=dim),
            torch.stack([b.keypoints for b in box_list], dim=dim),
            torch.stack([b.keypoints_visible for b in box_list], dim=dim),
            clone=False,
            flip_indices=box_list[0].flip_indices)

    def to_hbox(self) -> HorizontalBoxes:
        """Plain ``HorizontalBoxes`` sharing the box tensor."""
        return HorizontalBoxes(self.tensor, clone=False)


@register_box_converter(BBoxKeypoints, HorizontalBoxes)
def bbox_kpt2hbox(boxes: Tensor) -> Tensor:
    """Boxes are stored as xyxy in both types: identity (keypoints dropped)."""
    return boxes


@register_box_converter(HorizontalBoxes, BBoxKeypoints)
def hbox2bbox_kpt(boxes: Tensor) -> Tensor:
    """Identity on the box tensor; the result carries no keypoints (K=0)."""
    return boxes


__all__ = ['BBoxKeypoints', 'FACE_FLIP_INDICES']
