"""Load MMEngine checkpoints with torch's weights-only protection kept.

Since torch 2.6, :func:`torch.load` reads pickles with a restricted
unpickler (``weights_only=True``) that refuses every global it does not
know, so a checkpoint cannot run code. MMEngine's Runner checkpoints hold
more than tensors: the ``message_hub`` state has
:class:`mmengine.logging.HistoryBuffer` objects (numpy arrays, and their
statistics methods pickled as ``getattr(HistoryBuffer, 'mean')`` and the
like) and numpy scalars, so plain ``--resume`` and ``load_from`` fail with
``Unsupported global``.

Allowing ``builtins.getattr`` itself would be fatal: with it, a pickle can
walk from a function torch allows by default to ``__builtins__`` and on to
``eval``. Here ``builtins.getattr`` is mapped to
:func:`history_buffer_getattr`, which resolves only the statistics methods
of ``HistoryBuffer`` and refuses everything else, and the extra globals are
allowed only for the duration of one load (:func:`mmengine_safe_globals`),
never process-wide.

:func:`use_safe_checkpoint_loading` makes MMEngine's own loader (``Runner``
``resume``/``load_from``, ``init_cfg`` pretrained weights,
``load_checkpoint``) read local files this way; ``import frskd_mm`` calls it.
"""
import contextlib
import importlib
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch

#: HistoryBuffer's built-in statistics methods.
_STATISTICS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint that a weights-only load refuses: it may run code."""


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """The only ``getattr`` a checkpoint may call.

    MMEngine pickles a ``HistoryBuffer``'s statistics methods (``min``,
    ``max``, ``current``, ``mean`` and any registered with
    ``@HistoryBuffer.statistics``) as ``getattr(HistoryBuffer, name)``.
    This resolves exactly those lookups.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer

    # HistoryBuffer fills _statistics_methods with its own four when the
    # first instance is made, so they are listed here too.
    allowed = set(HistoryBuffer._statistics_methods) | set(_STATISTICS)
    if obj is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Refusing getattr({_describe(obj)}, {name!r}) in a checkpoint: '
        'only the statistics methods of mmengine HistoryBuffer may be '
        'looked up. The file was crafted or is not an MMEngine checkpoint.')


def _describe(obj: Any) -> str:
    name = getattr(obj, '__qualname__', None) or type(obj).__qualname__
    module = getattr(obj, '__module__', None) or type(obj).__module__
    return f'{module}.{name}'


def safe_global_entries() -> List[Union[Any, Tuple[Any, str]]]:
    """The globals an MMEngine checkpoint needs, for ``safe_globals``.

    Returns:
        list: MMEngine's ``HistoryBuffer``; numpy's ``ndarray``, ``dtype``,
        every ``np.dtypes.*DType`` class, ``multiarray._reconstruct`` and
        ``multiarray.scalar`` (also under the module name of the other
        numpy major version, ``numpy.core`` <-> ``numpy._core``, so a
        checkpoint saved under numpy 1.x loads under 2.x and vice versa);
        and ``builtins.getattr`` mapped to :func:`history_buffer_getattr`.
        None of these can run code from a pickle.
    """
    from mmengine.logging import HistoryBuffer

    entries: List[Any] = [
        HistoryBuffer, np.ndarray, np.dtype,
        (history_buffer_getattr, 'builtins.getattr')
    ]
    # Every dtype class: the unpickler checks the class of each restored
    # dtype (Float64DType for float64 buffers, Int64DType for int64, ...).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        entries += [
            getattr(dtypes, name) for name in sorted(dir(dtypes)) if
            name.endswith('DType') and isinstance(getattr(dtypes, name), type)
        ]
    # Import only the installed numpy's module (importing numpy.core under
    # numpy 2 warns) and list the other name as an alias.
    real, alias = 'numpy._core.multiarray', 'numpy.core.multiarray'
    if int(np.__version__.split('.')[0]) < 2:
        real, alias = alias, real
    multiarray = importlib.import_module(real)
    for name in ('_reconstruct', 'scalar'):
        func = getattr(multiarray, name)
        entries.append(func)
        for module_name in (real, alias):
            if func.__module__ != module_name:
                entries.append((func, f'{module_name}.{name}'))
    return entries


@contextlib.contextmanager
def mmengine_safe_globals() -> Iterator[None]:
    """Allow :func:`safe_global_entries` inside the ``with`` block only.

    Raises:
        UnsafeCheckpointError: If ``builtins.getattr`` itself is allowed
            process-wide (``torch.serialization.add_safe_globals``): that
            makes every weights-only load unsafe, so nothing is loaded.
    """
    registered = torch.serialization.get_safe_globals()
    if getattr in registered:
        raise UnsafeCheckpointError(
            'builtins.getattr is allowed process-wide in torch\'s '
            'weights-only unpickler (torch.serialization.add_safe_globals). '
            'With it a checkpoint can run arbitrary code, so frskd_mm '
            'loads nothing. Remove it from the list (or empty the list with '
            'torch.serialization.clear_safe_globals()); frskd_mm allows '
            'what MMEngine checkpoints need for each load by itself.')
    with torch.serialization.safe_globals(safe_global_entries()):
        yield


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         mmap: bool = False) -> Any:
    """``torch.load`` of a local file, weights-only, MMEngine globals allowed.

    ``weights_only=True`` is passed explicitly, so the environment variable
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` cannot switch the protection off.

    Args:
        filename (str): A local checkpoint path (``~`` is expanded).
        map_location: As for :func:`torch.load`.
        mmap (bool): Map the tensors lazily (cheap reads of ``meta``);
            ignored for files in torch's legacy format.

    Returns:
        The unpickled checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        UnsafeCheckpointError: If the file holds anything beyond tensors,
            containers, numbers, strings and MMEngine's message-hub objects.
        RuntimeError: If the file is not a readable torch checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} can not be found.')
    mmap = mmap and zipfile.is_zipfile(filename)  # not for legacy files
    try:
        with mmengine_safe_globals():
            return torch.load(
                filename,
                map_location=map_location,
                weights_only=True,
                mmap=mmap)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(
            f'Refusing to load {filename}: it holds something that is not '
            f'plain data ({_refusal(e)}). frskd_mm loads tensors, '
            'containers, numbers, strings, numpy arrays and MMEngine\'s '
            'message hub only, so that a checkpoint cannot run code. If you '
            'wrote this file yourself and trust it, save its tensors again '
            'in a plain dict: torch.save({"state_dict": torch.load(path, '
            'weights_only=False)["state_dict"]}, new_path).') from e
    except (UnsafeCheckpointError, FileNotFoundError):
        raise
    except Exception as e:  # noqa: BLE001 - torch raises many kinds here
        raise RuntimeError(
            f'Cannot read the checkpoint {filename} ({type(e).__name__}: '
            f'{_refusal(e)}): it is damaged (an interrupted save or copy?) '
            'or was not written by torch.save.') from e


def _refusal(error: BaseException) -> str:
    """The reason in torch's weights-only error, without its advice to
    allow the global (which would make the load unsafe)."""
    lines = [line.strip() for line in str(error).splitlines()]
    for line in lines:
        line = line.replace('WeightsUnpickler error: ', '')
        if any(
                key in line for key in ('nsupported', 'Refusing', 'Can only',
                                        'unrecognized', 'not allowed')):
            return line.split(' Please use')[0]
    return next((line for line in lines if line), type(error).__name__)


def _load_from_local(filename: str, map_location: Any = None) -> Any:
    """MMEngine's local-file loader, with :func:`load_checkpoint_file`."""
    return load_checkpoint_file(filename, map_location=map_location)


def use_safe_checkpoint_loading() -> None:
    """Make MMEngine read local checkpoints with :func:`load_checkpoint_file`.

    Registers it as ``CheckpointLoader``'s loader for local paths (the
    empty prefix), which ``Runner.resume``, ``load_from``, ``init_cfg``
    pretrained weights and ``mmengine.runner.load_checkpoint`` use. URLs and
    other schemes keep MMEngine's loaders (torch's default weights-only
    load, without the message-hub globals). Calling it again does nothing.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True)


def _step_pattern(filename_tmpl: str) -> 're.Pattern':
    head, _, tail = filename_tmpl.partition('{}')
    return re.compile(re.escape(head) + r'(\d+)' + re.escape(tail) + '$')


def find_resume_checkpoint(work_dir: str,
                           filename_tmpl: Optional[str] = None
                           ) -> Optional[str]:
    """The newest complete checkpoint of a run, for ``--resume``.

    Looks at the file named by ``<work_dir>/last_checkpoint`` and at every
    checkpoint named by ``filename_tmpl`` in ``work_dir`` and in the folder
    of that file, and returns the one with the highest epoch or iteration.
    With :class:`~frskd_mm.engine.hooks.AtomicCheckpointHook` a checkpoint
    appears under its name only once it is complete, so this is the newest
    complete one wherever a previous run was killed; ``last_checkpoint``
    alone can lag one checkpoint behind, or (written by MMEngine's own
    ``CheckpointHook``) name a deleted file.

    Args:
        work_dir (str): The run's work directory.
        filename_tmpl (str, optional): The checkpoint hook's
            ``filename_tmpl``; default ``'epoch_{}.pth'`` and
            ``'iter_{}.pth'``.

    Returns:
        str | None: A path, or None if the run has no checkpoint.
    """
    patterns = [
        _step_pattern(t) for t in
        ([filename_tmpl] if filename_tmpl else ['epoch_{}.pth', 'iter_{}.pth'])
    ]
    folders, named = [work_dir], None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named and osp.dirname(named) not in folders:
            folders.append(osp.dirname(named))
    candidates = []
    for folder in folders:
        if not osp.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            for pattern in patterns:
                match = pattern.match(name)
                path = osp.join(folder, name)
                if match and osp.isfile(path):
                    candidates.append(
                        (int(match.group(1)), path == named, path))
    if not candidates:
        return named if named and osp.isfile(named) else None
    return max(candidates)[2]
