"""Checkpoints crafted to run code when loaded, for the safety tests.

Each file is a valid ``torch.save`` zip whose pickle, when unpickled,
creates ``marker`` (a file path) by running a shell command or Python code.
They are built from objects whose ``__reduce__`` returns the call to make,
so the pickles are exactly what an attacker would write.
"""
import os
import os.path as osp
import shlex

import torch
from mmengine.logging import HistoryBuffer


class _Call:
    """Pickles as ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _getattr(obj, name):
    return _Call(getattr, obj, name)


def _call(func, result_type, *args):
    """``func(*args)`` through ``torch._tensor._rebuild_from_type_v2``,
    which torch allows by default and which calls whatever it is given;
    ``result_type`` must be the type of the result (else the call still
    ran, then fails)."""
    return _Call(torch._tensor._rebuild_from_type_v2, func, result_type, args,
                 {})


def _eval_via(builtins_dict, code: str):
    """``builtins['eval'](code)`` with only getattr and allowed functions:
    the ``get`` method of the builtins dict returns ``eval``."""
    getter = _getattr(builtins_dict, 'get')
    builtin_type = _getattr(getattr, '__class__')
    eval_ = _call(getter, builtin_type, 'eval')
    int_type = _getattr(0, '__class__')
    return _call(eval_, int_type, code)


def hostile_payloads(marker: str) -> dict:
    """``{kind: object}``: unpickling each one creates ``marker``."""
    code = f'__import__("pathlib").Path({marker!r}).touch() or 0'
    shell = f'touch {shlex.quote(marker)}'
    return {
        # builtins.getattr walks from a function torch allows by default
        # (torch._utils._rebuild_tensor) to __builtins__ and eval.
        'getattr_chain':
        _eval_via(
            _getattr(torch._utils._rebuild_tensor, '__builtins__'), code),
        # The classic: a reducer that calls os.system.
        'os_system':
        _Call(os.system, shell),
        # The same walk, starting from a global MMEngine checkpoints need
        # (HistoryBuffer): only its statistics methods may be looked up.
        'allowed_global_chain':
        _eval_via(
            _getattr(_getattr(HistoryBuffer, '__init__'), '__builtins__'),
            code),
        # A lookup that is allowed (a statistics method of HistoryBuffer),
        # called on a hostile object through a function torch allows.
        'allowed_method_call':
        _call(_getattr(HistoryBuffer, 'mean'), torch.Tensor, code),
    }


def write_hostile_checkpoints(folder: str, marker: str) -> dict:
    """Write each payload as ``<folder>/<kind>.pth`` inside an otherwise
    plausible Runner checkpoint; return ``{kind: path}``."""
    paths = {}
    for kind, payload in hostile_payloads(marker).items():
        path = osp.join(folder, f'{kind}.pth')
        torch.save(
            dict(
                meta=dict(epoch=1, iter=4, payload=payload),
                state_dict=dict(w=torch.zeros(2))), path)
        paths[kind] = path
    return paths
