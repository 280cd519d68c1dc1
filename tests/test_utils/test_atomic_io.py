"""atomic_write: readers see the old file or the new one, never half."""
import os

import pytest

from frskd_mm.utils import atomic_io


def test_writes_and_replaces(tmp_path):
    path = tmp_path / 'sub' / 'last_checkpoint'
    atomic_io.atomic_write(path, 'epoch_1.pth')
    atomic_io.atomic_write(path, b'epoch_2.pth')
    assert path.read_text() == 'epoch_2.pth'
    assert os.listdir(path.parent) == ['last_checkpoint']


def test_a_failure_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    atomic_io.atomic_write(path, b'old')

    def crash(src, dst):
        raise KeyboardInterrupt  # killed between write and rename

    monkeypatch.setattr(atomic_io.os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_io.atomic_write(path, b'new')
    assert path.read_bytes() == b'old'
    assert (tmp_path / '.epoch_1.pth.tmp').read_bytes() == b'new'


def test_mmengine_backend_writes_atomically(tmp_path):
    from mmengine.fileio import get_file_backend
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend=atomic_io.ATOMIC_BACKEND))
    assert isinstance(backend, atomic_io.AtomicLocalBackend)
    backend.put(b'abc', str(tmp_path / 'x.pth'))
    backend.put_text('t', str(tmp_path / 'y.txt'))
    assert (tmp_path / 'x.pth').read_bytes() == b'abc'
    assert sorted(os.listdir(tmp_path)) == ['x.pth', 'y.txt']
