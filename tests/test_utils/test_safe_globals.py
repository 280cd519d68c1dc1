"""torch.load(weights_only=True) of MMEngine checkpoints after
frskd_mm.utils.allow_mmengine_checkpoints()."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from frskd_mm.utils import allow_mmengine_checkpoints, mmengine_safe_globals


def _message_hub_state() -> dict:
    """A MessageHub state as MMEngine's Runner saves it in a checkpoint."""
    hub = MessageHub('frskd_test_safe_globals')
    for i in range(3):
        hub.update_scalar('train/loss', np.float64(1.5 - 0.5 * i))
        hub.update_scalar('train/lr', 0.1)
        hub.update_scalar('train/iter', np.int64(i))
    hub.update_info('epoch', 2)
    hub.update_info('dataset_meta', dict(classes=('a', 'b')))
    return hub.state_dict()


def _write_checkpoint(path) -> None:
    checkpoint = dict(
        meta=dict(epoch=2, iter=6, seed=np.int64(7)),
        state_dict=dict(weight=torch.arange(6.).reshape(2, 3)),
        message_hub=_message_hub_state(),
        numpy=dict(
            f64=np.float64(0.25),
            f32=np.float32(0.5),
            i64=np.int64(3),
            i32=np.int32(4),
            flag=np.bool_(True),
            a_f64=np.linspace(0, 1, 5),
            a_i64=np.arange(4),
            a_f32=np.ones((2, 2), np.float32)))
    torch.save(checkpoint, str(path))


def _load_in_fresh_python(path, allow: bool) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import torch
        if {allow}:
            from frskd_mm.utils import allow_mmengine_checkpoints
            allow_mmengine_checkpoints()
        ckpt = torch.load({str(path)!r})
        print('loaded', sorted(ckpt))
    """)
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env.pop('TORCH_FORCE_WEIGHTS_ONLY_LOAD', None)
    return subprocess.run([sys.executable, '-c', code],
                          capture_output=True, text=True, env=env,
                          timeout=300)


def test_default_torch_load_fails_without_and_works_with(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    _write_checkpoint(path)

    before = _load_in_fresh_python(path, allow=False)
    assert before.returncode != 0
    assert 'Weights only load failed' in before.stderr
    assert 'HistoryBuffer' in before.stderr or 'numpy' in before.stderr

    after = _load_in_fresh_python(path, allow=True)
    assert after.returncode == 0, after.stderr
    assert "loaded ['message_hub', 'meta', 'numpy', 'state_dict']" in \
        after.stdout


def test_loaded_checkpoint_is_intact(tmp_path, monkeypatch):
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    path = tmp_path / 'epoch_2.pth'
    _write_checkpoint(path)
    assert allow_mmengine_checkpoints() is True
    ckpt = torch.load(str(path), weights_only=True)

    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == pytest.approx(0.5)
    assert buffer.mean() == pytest.approx(1.0)
    assert ckpt['message_hub']['runtime_info']['epoch'] == 2

    values = ckpt['numpy']
    assert values['f64'] == np.float64(0.25)
    assert values['f32'].dtype == np.float32
    assert values['i64'] == 3 and values['i64'].dtype == np.int64
    assert values['i32'].dtype == np.int32
    assert bool(values['flag']) is True
    np.testing.assert_allclose(values['a_f64'], np.linspace(0, 1, 5))
    np.testing.assert_array_equal(values['a_i64'], np.arange(4))
    assert values['a_f32'].dtype == np.float32
    assert ckpt['meta']['seed'] == 7
    assert torch.equal(ckpt['state_dict']['weight'],
                       torch.arange(6.).reshape(2, 3))


def test_registration_is_idempotent():
    allow_mmengine_checkpoints()
    count = len(torch.serialization.get_safe_globals())
    allow_mmengine_checkpoints()
    assert len(torch.serialization.get_safe_globals()) == count


def test_safe_globals_list_the_needed_names():
    entries = mmengine_safe_globals()
    names = set()
    for entry in entries:
        if isinstance(entry, tuple):
            names.add(entry[1])
        else:
            names.add(f'{entry.__module__}.{entry.__qualname__}')
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in names
    assert 'builtins.getattr' in names
    assert np.ndarray in entries and np.dtype in entries
    # both numpy module layouts, whichever numpy is installed
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        assert f'{module}._reconstruct' in names
        assert f'{module}.scalar' in names
    if hasattr(np, 'dtypes'):
        assert np.dtypes.Float64DType in entries
        assert np.dtypes.Int64DType in entries
        assert np.dtypes.Float32DType in entries


def test_noop_without_add_safe_globals(monkeypatch):
    monkeypatch.delattr(torch.serialization, 'add_safe_globals',
                        raising=False)
    assert allow_mmengine_checkpoints() is False
