"""Checkpoint loading keeps torch's weights-only protection; --resume finds
the newest complete checkpoint."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from hostile_checkpoints import write_hostile_checkpoints
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from frskd_mm.utils import (UnsafeCheckpointError, find_resume_checkpoint,
                            load_checkpoint_file)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _message_hub_state() -> dict:
    """A MessageHub state as MMEngine's Runner saves it in a checkpoint."""
    hub = MessageHub('frskd_test_checkpoint')
    for i in range(3):
        hub.update_scalar('train/loss', np.float64(1.5 - 0.5 * i))
        hub.update_scalar('train/lr', 0.1)
        hub.update_scalar('train/iter', np.int64(i))
    hub.update_info('epoch', 2)
    hub.update_info('keep_ckpt_ids', [1, 2])
    hub.update_info('dataset_meta', dict(classes=('a', 'b')))
    return hub.state_dict()


def _write_runner_like_checkpoint(path) -> None:
    checkpoint = dict(
        meta=dict(epoch=2, iter=6, seed=np.int64(7)),
        state_dict=dict(weight=torch.arange(6.).reshape(2, 3)),
        message_hub=_message_hub_state(),
        numpy=dict(
            f64=np.float64(0.25),
            f32=np.float32(0.5),
            i32=np.int32(4),
            flag=np.bool_(True),
            a_f64=np.linspace(0, 1, 5),
            a_i64=np.arange(4)))
    torch.save(checkpoint, str(path))


def _python(code: str, **env) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PYTHONPATH=f'{ROOT}:{ROOT}/tests', **env)
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300)


def test_mmengine_checkpoints_load_intact(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    _write_runner_like_checkpoint(path)
    before = set(torch.serialization.get_safe_globals())
    ckpt = load_checkpoint_file(str(path))
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == pytest.approx(0.5)
    assert buffer.mean() == pytest.approx(1.0)
    assert ckpt['message_hub']['runtime_info']['keep_ckpt_ids'] == [1, 2]
    assert ckpt['meta']['seed'] == 7
    assert ckpt['numpy']['f32'].dtype == np.float32
    np.testing.assert_array_equal(ckpt['numpy']['a_i64'], np.arange(4))
    assert torch.equal(ckpt['state_dict']['weight'],
                       torch.arange(6.).reshape(2, 3))
    # The extra globals were allowed for that load only.
    assert set(torch.serialization.get_safe_globals()) == before
    # MMEngine's own loader (Runner.resume, load_from) goes through it.
    assert _load_checkpoint(str(path))['meta']['iter'] == 6


def test_a_fresh_process_loads_them_and_the_environment_changes_nothing(
        tmp_path):
    """A resuming process has made no HistoryBuffer yet (HistoryBuffer
    registers its statistics methods with its first instance), and may
    have TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD set (an old workaround): real
    checkpoints load, crafted ones are still refused."""
    path = tmp_path / 'epoch_2.pth'
    _write_runner_like_checkpoint(path)
    marker = tmp_path / 'code_ran'
    hostile = write_hostile_checkpoints(str(tmp_path), str(marker))
    proc = _python(
        f'''
        from frskd_mm.utils import load_checkpoint_file
        ckpt = load_checkpoint_file({str(path)!r})
        print(ckpt['message_hub']['log_scalars']['train/loss'].mean())
        for path in {sorted(hostile.values())!r}:
            try:
                load_checkpoint_file(path)
            except RuntimeError as e:
                print(str(e).split(' ')[0])
    ''',
        TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1')
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == '1.0'
    # allowed_global_chain, allowed_method_call, getattr_chain, os_system
    assert lines[1:] == ['Refusing', 'Cannot', 'Refusing', 'Refusing']
    assert not marker.exists()


def test_hostile_checkpoints_are_refused_and_run_nothing(tmp_path):
    marker = tmp_path / 'code_ran'
    paths = write_hostile_checkpoints(str(tmp_path), str(marker))
    for kind, path in paths.items():
        for load in (load_checkpoint_file, _load_checkpoint):
            with pytest.raises((UnsafeCheckpointError, RuntimeError),
                               match=r'Refusing to load|Cannot read'):
                load(path)
            assert not marker.exists(), (kind, load)
    message = str(
        pytest.raises(UnsafeCheckpointError, load_checkpoint_file,
                      paths['getattr_chain']).value)
    assert "Refusing getattr(torch._utils._rebuild_tensor, '__builtins__')" \
        in message
    assert 'add_safe_globals' not in message  # no advice to unlock it


def test_the_hostile_checkpoints_do_run_code_where_getattr_is_allowed(
        tmp_path):
    """With getattr allowed process-wide, or with a plain load, each kind
    runs its code (the threat is real)."""
    ran = {}
    for kind in ('getattr_chain', 'allowed_global_chain', 'os_system'):
        marker = tmp_path / f'{kind}.ran'
        path = write_hostile_checkpoints(str(tmp_path), str(marker))[kind]
        if kind == 'os_system':
            torch.load(path, weights_only=False)
        else:
            with torch.serialization.safe_globals([getattr, HistoryBuffer]):
                torch.load(path, weights_only=True)
        ran[kind] = marker.exists()
    assert ran == dict(
        getattr_chain=True, allowed_global_chain=True, os_system=True)


def test_getattr_allowed_process_wide_blocks_every_load(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    _write_runner_like_checkpoint(path)
    with torch.serialization.safe_globals([getattr]):
        with pytest.raises(
                UnsafeCheckpointError,
                match='builtins.getattr is allowed process-wide'):
            load_checkpoint_file(str(path))


def test_damaged_and_missing_files_say_so(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    _write_runner_like_checkpoint(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(
            RuntimeError,
            match=r'Cannot read the checkpoint .*'
            r'damaged \(an interrupted save or copy\?\)'):
        load_checkpoint_file(str(path))
    with pytest.raises(FileNotFoundError, match='can not be found'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def _touch(path, text=b'x'):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text)


def test_resume_picks_the_newest_complete_checkpoint(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) is None
    _touch(tmp_path / 'epoch_1.pth')
    _touch(tmp_path / 'epoch_10.pth')
    _touch(tmp_path / 'epoch_2.pth')
    _touch(tmp_path / 'best_accuracy_top1_epoch_12.pth')
    _touch(tmp_path / '.epoch_11.pth.tmp')  # an interrupted save
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'epoch_10.pth')
    # last_checkpoint lags (killed before it was updated) or names a
    # deleted file (MMEngine's CheckpointHook): the newest file wins.
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert find_resume_checkpoint(str(tmp_path)).endswith('epoch_10.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_99.pth'))
    assert find_resume_checkpoint(str(tmp_path)).endswith('epoch_10.pth')
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resume_checkpoint(str(tmp_path)).endswith('epoch_10.pth')


def test_resume_looks_where_last_checkpoint_points(tmp_path):
    work, out = tmp_path / 'work', tmp_path / 'elsewhere' / 'work'
    _touch(out / 'iter_40.pth')
    _touch(out / 'iter_80.pth')
    _touch(work / 'last_checkpoint', str(out / 'iter_40.pth').encode())
    assert find_resume_checkpoint(str(work)) == str(out / 'iter_80.pth')
    _touch(work / 'ckpt-7.pt')
    assert find_resume_checkpoint(str(work),
                                  'ckpt-{}.pt') == str(work / 'ckpt-7.pt')
