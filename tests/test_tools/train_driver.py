"""Run ``tools/train.py`` and ``tools/test.py`` jobs from one interpreter,
each in a forked child with one torch thread, as many at a time as there
are CPU cores (at most 4); a job may wait for others and may be killed
(SIGKILL) at a chosen point of a checkpoint save.

Usage: ``python train_driver.py JOBS.json``, where the file holds a list of
``{"argv": [...], "log": path, "kill": null | {"point": P, "target": NAME},
"tool": "train" | "test", "after": [indices of jobs to finish first]}``.
The parent imports the tools and what their runs need once (the task
packages' modules, matplotlib, the packages' metafiles) and never runs a
torch op, so forking is safe; each child is a fresh training process as far
as torch is concerned. A job's run does not depend on the others that run
beside it: one thread each, its own seed. Writes ``{"returncode": int}``
(negative: killed by that signal) into each job as ``JOBS.json.out``.

Kill points (``target`` is a checkpoint's file name, e.g. ``epoch_2.pth``):

- ``checkpoint_partial``: half of the checkpoint is written to its
  temporary file, then the process dies;
- ``before_pointer``: the checkpoint is complete under its name, and the
  process dies as ``last_checkpoint`` is about to name it;
- ``pointer_partial``: ``last_checkpoint``'s temporary file is half written;
- ``before_removal``: ``last_checkpoint`` names the new checkpoint and the
  process dies before removing the old one (``target`` is the old one);
- ``after_pointer``: the save finished completely (a plain interruption).
"""
import importlib.util
import json
import os
import os.path as osp
import signal
import sys
import traceback

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _die():
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _install_kill(point, target):
    from frskd_mm.engine.hooks import AtomicCheckpointHook
    from frskd_mm.utils import atomic_io

    real_write, real_remove = atomic_io.atomic_write, \
        AtomicCheckpointHook._remove

    def write(path, data):
        name = osp.basename(str(path))
        text = data if isinstance(data, str) else None
        names_target = name == 'last_checkpoint' and text is not None and \
            osp.basename(text) == target
        if name == target and point == 'checkpoint_partial':
            with open(atomic_io.temporary_path(path), 'wb') as f:
                f.write(data[:len(data) // 2])
            _die()
        if names_target and point == 'before_pointer':
            _die()
        if names_target and point == 'pointer_partial':
            with open(atomic_io.temporary_path(path), 'w') as f:
                f.write(text[:len(text) // 2])
            _die()
        real_write(path, data)
        if names_target and point == 'after_pointer':
            _die()

    def remove(self, path):
        if point == 'before_removal' and osp.basename(path) == target:
            _die()
        real_remove(self, path)

    atomic_io.atomic_write = write
    AtomicCheckpointHook._remove = remove


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'frskd_{name}_tool', osp.join(ROOT, 'tools', f'{name}.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _prepare(jobs):
    """What every child would import or read again: the tools, the task
    packages' registries, matplotlib (MMEngine's visualizer) and, through
    each config once, the packages' metafiles (tests/mmengine_cache.py)."""
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import matplotlib.pyplot  # noqa: F401
    from mmengine.config import Config
    from mmengine_cache import cache_mmengine_config_work

    from frskd_mm.tasks import TASKS
    cache_mmengine_config_work()
    for task in TASKS.values():
        try:
            task.setup()
        except ImportError:  # that task's package is not installed
            pass
    for config in sorted({job['argv'][0] for job in jobs}):
        Config.fromfile(config)
    return {name: _load_tool(name) for name in ('train', 'test')}


def _start(job, tools):
    pid = os.fork()
    if pid:
        return pid
    fd = os.open(job['log'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    code = 0
    try:
        torch.set_num_threads(1)
        if job.get('kill'):
            _install_kill(**job['kill'])
        tools[job.get('tool', 'train')].main(job['argv'])
    except BaseException:  # noqa: BLE001 - report and exit
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main():
    jobs_file = sys.argv[1]
    with open(jobs_file) as f:
        jobs = json.load(f)
    tools = _prepare(jobs)
    slots = max(1, min(4, len(os.sched_getaffinity(0))))
    pending, running = list(range(len(jobs))), {}
    while pending or running:
        for i in list(pending):
            if len(running) == slots:
                break
            if all('returncode' in jobs[j] for j in jobs[i].get('after', [])):
                pending.remove(i)
                running[_start(jobs[i], tools)] = i
        if not running:
            raise RuntimeError(f'Jobs {pending} wait for each other.')
        pid, status = os.wait()
        if pid in running:
            jobs[running.pop(pid)]['returncode'] = \
                os.waitstatus_to_exitcode(status)
    with open(jobs_file + '.out', 'w') as f:
        json.dump(jobs, f)


if __name__ == '__main__':
    main()
