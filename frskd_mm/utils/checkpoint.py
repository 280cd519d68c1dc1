"""Let ``torch.load(weights_only=True)`` read MMEngine checkpoints.

Since torch 2.6, :func:`torch.load` defaults to ``weights_only=True`` and
refuses every global it does not know. MMEngine's Runner checkpoints hold
more than tensors: the ``message_hub`` state has
:class:`mmengine.logging.HistoryBuffer` objects (with numpy arrays and
bound methods pickled through ``getattr``) and numpy scalars, so
``--resume`` and ``load_from`` fail with ``Unsupported global``.
:func:`allow_mmengine_checkpoints` marks exactly these globals as safe.
"""
import builtins
import importlib
from typing import Any, List

import numpy as np
import torch


def mmengine_safe_globals() -> List[Any]:
    """List the globals that MMEngine checkpoints need, as installed here.

    Returns:
        list: Entries for :func:`torch.serialization.add_safe_globals`:
        MMEngine's ``HistoryBuffer``; numpy's ``multiarray._reconstruct``
        and ``multiarray.scalar``; ``np.ndarray``; ``np.dtype``; every
        ``np.dtypes.*DType`` class (numpy >= 1.25); and
        ``builtins.getattr``. Only names that exist in the installed
        numpy are listed. The two numpy functions are also listed as
        ``(function, name)`` pairs under the module name of the other numpy
        major version (``numpy.core`` <-> ``numpy._core``), so a checkpoint
        saved under numpy 1.x loads under 2.x and vice versa.
    """
    from mmengine.logging import HistoryBuffer

    entries: List[Any] = [
        HistoryBuffer, np.ndarray, np.dtype, builtins.getattr
    ]

    # Every dtype class: the unpickler checks the class of each restored
    # dtype (Float64DType for float64 buffers, Int64DType for int64, ...).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        entries += [
            getattr(dtypes, name) for name in sorted(dir(dtypes))
            if name.endswith('DType') and isinstance(
                getattr(dtypes, name), type)
        ]

    # numpy 2 moved numpy.core to numpy._core; pickles name the module of
    # the numpy that saved them. Import only the installed one (importing
    # numpy.core under numpy 2 warns) and list the other name as an alias.
    numpy_2 = int(np.__version__.split('.')[0]) >= 2
    real, alias = ('numpy._core.multiarray', 'numpy.core.multiarray')
    if not numpy_2:
        real, alias = alias, real
    multiarray = importlib.import_module(real)
    for name in ('_reconstruct', 'scalar'):
        func = getattr(multiarray, name)
        entries.append(func)
        for module_name in (real, alias):
            if func.__module__ != module_name:
                entries.append((func, f'{module_name}.{name}'))
    return entries


def allow_mmengine_checkpoints() -> bool:
    """Make MMEngine checkpoints loadable with torch's default ``torch.load``.

    Registers :func:`mmengine_safe_globals` with
    :func:`torch.serialization.add_safe_globals`, so that ``--resume`` and
    ``load_from`` work under torch >= 2.6 without
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``. Safe to call more than once.

    Returns:
        bool: ``True`` if globals were registered, ``False`` on a torch
        without ``add_safe_globals`` (< 2.4), where ``torch.load`` does not
        default to ``weights_only`` and nothing is needed.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:
        return False
    entries = mmengine_safe_globals()
    plain = [e for e in entries if not isinstance(e, tuple)]
    aliased = [e for e in entries if isinstance(e, tuple)]
    add_safe_globals(plain)
    if aliased:
        try:
            add_safe_globals(aliased)
        except (TypeError, AttributeError):
            # torch 2.4/2.5 take no (obj, name) pairs; the plain entries
            # still cover checkpoints saved with the installed numpy.
            pass
    return True
