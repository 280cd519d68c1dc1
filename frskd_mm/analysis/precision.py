"""Mixed precision and memory layout of a measured training step.

- :func:`amp_optim_wrapper_cfg` and :func:`add_cpu_autocast`: AMP as
  MMEngine trains with it (``tools/train.py --amp``): on CUDA the config's
  ``optim_wrapper`` becomes ``AmpOptimWrapper`` (``torch.autocast`` in
  ``optim_context``, a dynamic ``GradScaler`` on backward and step). MMEngine
  refuses ``AmpOptimWrapper`` on the CPU, so there bf16 autocast is added
  to the plain ``OptimWrapper``'s ``optim_context`` (no scaler: bf16 has
  fp32's range).
- :func:`set_channels_last`: the whole model and its input in channels-last
  memory format (``True``), or everything contiguous NCHW, the
  self-teacher included (``False``; FRSKDNeck's default is channels-last
  for its own layers only).
"""
import contextlib
import copy
from typing import Optional

import torch
import torch.nn as nn
from mmengine.config import ConfigDict

from ..models.necks import FRSKDNeck

#: ``--amp`` choices and the autocast dtype of each.
AMP_DTYPES = {'none': None, 'fp16': 'float16', 'bf16': 'bfloat16'}


def check_amp(amp: str, device: torch.device) -> None:
    """Raise a ValueError for an unknown ``amp`` or fp16 on the CPU."""
    if amp not in AMP_DTYPES:
        raise ValueError(f'--amp must be one of {sorted(AMP_DTYPES)}, got '
                         f'{amp!r}.')
    if amp == 'fp16' and device.type != 'cuda':
        raise ValueError('--amp fp16 needs CUDA (PyTorch autocasts to '
                         'float16 on CUDA only); use --amp bf16 on the CPU.')


def amp_optim_wrapper_cfg(optim_cfg: dict, amp: str,
                          device: torch.device) -> dict:
    """The ``optim_wrapper`` config to build for ``amp`` on ``device``: on
    CUDA ``AmpOptimWrapper`` with the dtype and a dynamic loss scale (what
    ``tools/train.py --amp`` sets), else ``optim_cfg`` unchanged."""
    check_amp(amp, device)
    cfg = ConfigDict(copy.deepcopy(optim_cfg))
    if amp == 'none' or device.type != 'cuda':
        return cfg
    cfg.type = 'AmpOptimWrapper'
    cfg.dtype = AMP_DTYPES[amp]
    cfg.setdefault('loss_scale', 'dynamic')
    return cfg


def add_cpu_autocast(optim_wrapper, amp: str, device: torch.device):
    """On the CPU with ``amp='bf16'``, make ``optim_wrapper.optim_context``
    also run ``torch.autocast('cpu', torch.bfloat16)``; otherwise leave it
    (CUDA AMP is in the ``AmpOptimWrapper`` itself)."""
    if device.type == 'cuda' or AMP_DTYPES[amp] is None:
        return optim_wrapper
    inner = optim_wrapper.optim_context
    dtype = getattr(torch, AMP_DTYPES[amp])

    @contextlib.contextmanager
    def optim_context(model):
        with inner(model), torch.autocast('cpu', dtype=dtype):
            yield

    optim_wrapper.optim_context = optim_context
    return optim_wrapper


def set_channels_last(model: nn.Module, data: dict,
                      channels_last: Optional[bool]) -> dict:
    """Put ``model`` and ``data['inputs']`` in one memory format.

    Args:
        model (nn.Module): The built model (changed in place).
        data (dict): Its preprocessed batch.
        channels_last (bool, optional): True: channels-last everywhere;
            False: contiguous NCHW everywhere, FRSKDNeck's layers too;
            None: as built (the config's own choice).

    Returns:
        dict: ``data`` with its image tensor in the chosen format.
    """
    if channels_last is None:
        return data
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for module in model.modules():
        if isinstance(module, FRSKDNeck):
            module.memory_format = fmt
    model.to(memory_format=fmt)
    inputs = data['inputs']
    if torch.is_tensor(inputs) and inputs.dim() == 4:
        data = dict(data, inputs=inputs.contiguous(memory_format=fmt))
    return data
