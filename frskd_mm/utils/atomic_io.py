"""Writes that never leave a half-written file under the final name.

The data goes to a hidden temporary file in the same folder, is flushed to
disk, and then replaces the target with one ``os.replace`` (atomic on POSIX
and Windows). A process killed at any moment leaves either the old file or
the new one, plus at worst a stale ``.<name>.tmp``.
"""
import os
import os.path as osp
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

#: Name of :class:`AtomicLocalBackend` in MMEngine's file backends, for
#: ``backend_args=dict(backend=ATOMIC_BACKEND)``.
ATOMIC_BACKEND = 'frskd_atomic_local'


def temporary_path(path: Union[str, Path]) -> str:
    """Where :func:`atomic_write` stages ``path``: ``<dir>/.<name>.tmp``."""
    folder, name = osp.split(str(path))
    return osp.join(folder, f'.{name}.tmp')


def atomic_write(path: Union[str, Path], data: Union[bytes, str]) -> None:
    """Write ``data`` to ``path`` so that readers see old or new, never half.

    Args:
        path (str | Path): The target file; its folder is created if needed.
        data (bytes | str): The content (``str`` is written as UTF-8).
    """
    path = str(path)
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = temporary_path(path)
    if isinstance(data, str):
        data = data.encode('utf-8')
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_folder(osp.dirname(path) or '.')


def _fsync_folder(folder: str) -> None:
    """Persist a rename (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend whose writes are :func:`atomic_write`.

    Select it with ``backend_args=dict(backend='frskd_atomic_local')``;
    :class:`~frskd_mm.engine.hooks.AtomicCheckpointHook` does so for local
    work directories.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(filepath, obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj.encode(encoding))
