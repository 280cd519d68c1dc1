"""Running the command-line tools as a user would, and reading their logs.

Shared by the end-to-end tests of this folder (pytest puts the folder on
``sys.path``).
"""
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List

from frskd_mm.utils.logs import find_scalar_logs, read_records

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(*args, check: bool = True) -> subprocess.CompletedProcess:
    """``python <args>`` in the repository root, this checkout importable.

    Raises:
        AssertionError: With the tail of stdout/stderr, if ``check`` and the
            tool failed.
    """
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2')
    proc = subprocess.run([sys.executable, *args],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-5000:]}')
    return proc


def tiny_options(data_root, epochs: int = 1, workers: int = 0) -> List[str]:
    """``--cfg-options`` that shrink an epoch-based config to a fixture:
    ``data_root`` for every split, batch size 8, ``workers`` dataloader
    workers, seed 0, a log line per iteration."""
    opts = [
        f'train_cfg.max_epochs={epochs}', 'default_hooks.logger.interval=1',
        'randomness.seed=0'
    ]
    for split in ('train', 'val', 'test'):
        opts += [
            f'{split}_dataloader.dataset.data_root={data_root}',
            f'{split}_dataloader.batch_size=8',
            f'{split}_dataloader.num_workers={workers}'
        ]
    return opts


def scalars(work_dir) -> List[dict]:
    """All records of every run's scalars.json, in run order."""
    try:
        paths = find_scalar_logs(str(work_dir))
    except FileNotFoundError:
        return []
    return [r for path in paths for r in read_records(path)]


def run_train_jobs(jobs: Dict[str, dict], folder) -> Dict[str, dict]:
    """Run ``tools/train.py`` (or, with ``tool='test'``, ``tools/test.py``)
    jobs in forked children of one interpreter, side by side
    (``train_driver.py``: imports paid once; see its docstring for
    ``kill``).

    Args:
        jobs (dict[str, dict]): Name -> job: ``argv``, optionally ``tool``,
            ``kill``, ``log`` (default ``<folder>/<name>.log``) and
            ``after`` (names of the jobs that must finish first, e.g. the
            run a ``--resume`` continues).
        folder: Where the job list and the logs go.

    Returns:
        dict[str, dict]: The jobs, each with its ``returncode`` (negative:
        the signal that killed it).
    """
    names = list(jobs)
    listed = []
    for name in names:
        job = dict(jobs[name])
        job.setdefault('log',
                       osp.join(str(folder),
                                name.replace('/', '_') + '.log'))
        job.setdefault('kill', None)
        job['after'] = [names.index(other) for other in job.get('after', [])]
        listed.append(job)
    jobs_file = osp.join(str(folder), 'jobs.json')
    with open(jobs_file, 'w') as f:
        json.dump(listed, f)
    run_tool(
        osp.join(ROOT, 'tests', 'test_tools', 'train_driver.py'), jobs_file)
    with open(jobs_file + '.out') as f:
        return dict(zip(names, json.load(f)))


def log_of(job: dict) -> str:
    """The output of a job of :func:`run_train_jobs`."""
    with open(job['log']) as f:
        return f.read()


def ok_log(job: dict) -> str:
    """The output of a job of :func:`run_train_jobs` that must have
    succeeded (else the test fails with its end)."""
    log = log_of(job)
    assert job['returncode'] == 0, log[-6000:]
    return log
