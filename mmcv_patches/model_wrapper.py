"""A DDP model wrapper for CPU (gloo), CUDA and Ascend NPU.

:class:`DeviceDistributedDataParallel` (``MODEL_WRAPPERS``) is mmengine's
``MMDistributedDataParallel`` with ``device_ids`` derived from where the
module lives: none for CPU modules (DDP over gloo), the module's own device
index for accelerators (so a ``DEVICE_ID_OFFSET`` shift is honoured).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


def module_device(module: nn.Module) -> torch.device:
    """Device of the first parameter (or buffer) of ``module``; CPU if none."""
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device('cpu')


@MODEL_WRAPPERS.register_module()
class DeviceDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that works on CPU, CUDA and NPU.

    Args:
        module (nn.Module): model, already on its device.
        device_ids (list[int], optional): ignored - derived from the module
            (mmengine's runner passes ``[LOCAL_RANK]``, which is wrong on CPU
            and with a device-id offset).
        output_device (int, optional): ignored likewise.
        broadcast_buffers (bool): sync buffers from rank 0 every forward.
            Defaults to False (mmengine's default).
        find_unused_parameters (bool): allow parameters without gradients
            (e.g. unused heads). Defaults to False.
        static_graph (bool): DDP static graph optimisation. Defaults to False.
        detect_anomalous_params (bool): mmengine's debugging option.
        **kwargs: other ``torch.nn.parallel.DistributedDataParallel``
            arguments (``bucket_cap_mb``, ``gradient_as_bucket_view``, ...).
    """

    def __init__(self,
                 module: nn.Module,
                 device_ids: Optional[list] = None,
                 output_device: Optional[int] = None,
                 broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False,
                 static_graph: bool = False,
                 detect_anomalous_params: bool = False,
                 **kwargs):
        device = module_device(module)
        if device.type == 'cpu':
            ids, out = None, None
        else:
            index = device.index
            if index is None:
                index = getattr(torch, device.type).current_device()
            ids, out = [index], index
        super().__init__(
            module=module,
            detect_anomalous_params=detect_anomalous_params,
            device_ids=ids,
            output_device=out,
            broadcast_buffers=broadcast_buffers,
            find_unused_parameters=find_unused_parameters,
            static_graph=static_graph,
            **kwargs)
        self.wrapper_options = dict(
            broadcast_buffers=broadcast_buffers,
            find_unused_parameters=find_unused_parameters,
            static_graph=static_graph)
