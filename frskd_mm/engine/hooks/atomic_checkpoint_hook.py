"""MMEngine's checkpoint hook, made safe against a kill at any moment."""
import glob
import os
import os.path as osp
from collections import deque
from typing import List

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from frskd_mm.registry import HOOKS
from ...utils import atomic_io


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose run survives a kill during any save.

    MMEngine's hook deletes the oldest checkpoint before it writes the new
    one, writes files and ``last_checkpoint`` in place, and removes the old
    best checkpoint before saving the new best, so a process killed at the
    wrong moment can leave ``last_checkpoint`` naming a deleted or
    half-written file. This hook, for local work directories:

    1. writes every checkpoint to a hidden temporary file and renames it
       into place once complete (``frskd_atomic_local`` file backend);
    2. then updates ``last_checkpoint``, also atomically;
    3. only then removes checkpoints beyond ``max_keep_ckpts`` and the
       previous best checkpoint.

    A checkpoint records the ids still to be removed, so a run killed before
    step 3 removes them when it resumes; a resumed run also points
    ``last_checkpoint`` at the checkpoint it resumed from and removes stale
    temporary files. ``tools/train.py --resume`` picks the newest complete
    checkpoint (``frskd_mm.utils.find_resume_checkpoint``). With a remote
    ``out_dir`` or explicit ``backend_args`` the writes are the backend's.

    Args:
        **kwargs: The arguments of :class:`mmengine.hooks.CheckpointHook`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.atomic = (
            self.file_client_args is None and self.backend_args is None
            and '://' not in str(self.out_dir or ''))
        if self.atomic:
            self.backend_args = dict(backend=atomic_io.ATOMIC_BACKEND)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.max_keep_ckpts > 0:
            # Without maxlen: an id leaves the queue only once its file is
            # removed (CheckpointHook's deque drops it before).
            self.keep_ckpt_ids = deque(self.keep_ckpt_ids)
        if self.atomic and is_main_process():
            # Finish what a killed save could not: point last_checkpoint at
            # the checkpoint this run resumed from (the kill may have come
            # before the pointer's update), and remove temporary files.
            resumed = runner.message_hub.get_info('last_ckpt')
            pointer = osp.join(runner.work_dir, 'last_checkpoint')
            if resumed and osp.isfile(resumed) and _read(pointer) != resumed:
                atomic_io.atomic_write(pointer, resumed)
            out_dir = str(self.out_dir)
            for pattern in (osp.join(out_dir, self.filename_tmpl.format('*')),
                            osp.join(out_dir, 'best_*'),
                            osp.join(runner.work_dir, 'last_checkpoint')):
                for tmp in glob.glob(atomic_io.temporary_path(pattern)):
                    os.remove(tmp)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        stale: List[int] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
            while len(self.keep_ckpt_ids) > self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if stale:
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        if not is_main_process():
            return
        atomic_io.atomic_write(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in stale:
            self._remove(
                self.file_backend.join_path(self.out_dir,
                                            self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        # CheckpointHook removes the previous best before saving the new
        # one; hold removals back until every file of this call is written.
        backend = self.file_backend
        self.file_backend = _RemovalsHeldBack(backend)
        try:
            super()._save_best_checkpoint(runner, metrics)
            held = self.file_backend
        finally:
            self.file_backend = backend
        for path in held.paths:
            self._remove(path)

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # DeepSpeed checkpoints
            self.file_backend.rmtree(path)


def _read(path: str) -> str:
    if not osp.isfile(path):
        return ''
    with open(path) as f:
        return f.read()


class _RemovalsHeldBack:
    """A file backend whose ``remove``/``rmtree`` only record the path."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.paths: List[str] = []

    def __getattr__(self, name: str):
        return getattr(self._backend, name)

    def remove(self, path: str) -> None:
        self.paths.append(path)

    def rmtree(self, path: str) -> None:
        self.paths.append(path)

    def isfile(self, path: str) -> bool:
        return path not in self.paths and self._backend.isfile(path)

    def isdir(self, path: str) -> bool:
        return path not in self.paths and self._backend.isdir(path)
