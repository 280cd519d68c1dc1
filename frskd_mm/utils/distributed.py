"""Distributed training and testing on CPU (gloo) with MMEngine's Runner.

MMEngine initialises distributed runs for GPUs only: its ``init_dist``
calls ``torch.cuda.set_device`` and its default model wrapper passes
``device_ids=[LOCAL_RANK]``. On a machine without CUDA the tools therefore
initialise a gloo process group themselves before the Runner is built (the
Runner then skips its own initialisation) and wrap the model in
``MMDistributedDataParallel`` without device ids. With CUDA nothing changes.
"""
import datetime
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')

#: The model wrapper used for CPU runs unless the config sets its own.
CPU_MODEL_WRAPPER = dict(
    type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)

# dist_cfg keys consumed here rather than passed to init_process_group.
_OWN_KEYS = ('backend', 'init_backend', 'port', 'timeout')


def needs_cpu_distributed(launcher: str) -> bool:
    """Whether a run with ``launcher`` has to be set up for CPU/gloo.

    Args:
        launcher (str): One of ``'none'``, ``'pytorch'``, ``'slurm'``,
            ``'mpi'``.

    Returns:
        bool: ``True`` for a distributed launcher on a machine without CUDA.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got '
                         f'{launcher!r}.')
    return launcher != 'none' and not torch.cuda.is_available()


def configure_cpu_distributed(cfg: Config) -> None:
    """Edit ``cfg`` in place for distributed CPU runs.

    Sets ``cfg.env_cfg.dist_cfg.backend = 'gloo'`` (creating ``env_cfg`` and
    ``dist_cfg`` if absent, keeping their other keys) and, unless the config
    already has a ``model_wrapper_cfg``, sets it to
    :data:`CPU_MODEL_WRAPPER` (``MMDistributedDataParallel`` with
    ``device_ids=None`` and ``broadcast_buffers=False``).

    Args:
        cfg (Config): The config, already merged with command-line options.
    """
    if cfg.get('env_cfg', None) is None:
        cfg.env_cfg = ConfigDict()
    if cfg.env_cfg.get('dist_cfg', None) is None:
        cfg.env_cfg.dist_cfg = ConfigDict()
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if cfg.get('model_wrapper_cfg', None) is None:
        cfg.model_wrapper_cfg = ConfigDict(
            CPU_MODEL_WRAPPER,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def _require_env(names, launcher: str) -> None:
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher} needs the environment variables '
            f'{missing}, which are not set. Start distributed runs with '
            'tools/dist_train.sh / tools/dist_test.sh (torchrun), '
            'tools/slurm_train.sh / tools/slurm_test.sh (srun) or mpirun, '
            'or use --launcher none for a single process.')


def _set_env_from_launcher(launcher: str, port: Optional[int]) -> None:
    """Fill RANK/WORLD_SIZE/LOCAL_RANK/MASTER_* like MMEngine's init_dist."""
    if launcher == 'pytorch':
        _require_env(('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
                     launcher)
        os.environ.setdefault('LOCAL_RANK', '0')
    elif launcher == 'slurm':
        _require_env(('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
                     launcher)
        if port is not None:
            os.environ['MASTER_PORT'] = str(port)
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            node_list = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1')
        os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
        os.environ['RANK'] = os.environ['SLURM_PROCID']
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    elif launcher == 'mpi':
        _require_env(
            ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'MASTER_ADDR'),
            launcher)
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
        os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
        os.environ['LOCAL_RANK'] = os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK',
                                                  '0')
    else:
        raise ValueError(f'No process group for launcher {launcher!r}; '
                         f"use one of {LAUNCHERS[1:]}.")


def init_cpu_process_group(launcher: str,
                           dist_cfg: Optional[dict] = None) -> None:
    """Initialise the default process group with the gloo backend.

    Reads rank and world size from the launcher's environment variables
    (``torchrun``: ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
    ``MASTER_PORT``; slurm: ``SLURM_PROCID``, ``SLURM_NTASKS``,
    ``SLURM_NODELIST``; mpi: ``OMPI_COMM_WORLD_*`` and ``MASTER_ADDR``).
    Does nothing if a process group already exists.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        dist_cfg (dict, optional): ``env_cfg.dist_cfg`` of the config.
            ``timeout`` (seconds) and, for slurm, ``port`` are used; other
            keys except ``backend`` and ``init_backend`` are passed to
            :func:`torch.distributed.init_process_group`.

    Raises:
        RuntimeError: If the launcher's environment variables are missing.
    """
    if torch_dist.is_initialized():
        return
    dist_cfg = dict(dist_cfg or {})
    init_backend = dist_cfg.get('init_backend', 'torch')
    if init_backend != 'torch':
        raise ValueError(
            f'env_cfg.dist_cfg.init_backend={init_backend!r} is not '
            "supported on CPU; remove it or set it to 'torch'.")
    _set_env_from_launcher(launcher, dist_cfg.get('port', None))
    kwargs = {k: v for k, v in dist_cfg.items() if k not in _OWN_KEYS}
    if dist_cfg.get('timeout', None) is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch_dist.init_process_group(
        backend='gloo',
        init_method='env://',
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        **kwargs)


def setup_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a distributed run on CPU; leave GPU runs to MMEngine.

    Call it after the command-line options are merged into ``cfg`` and
    before ``Runner.from_cfg(cfg)``. Without CUDA and with a launcher other
    than ``'none'``, it edits ``cfg`` (see
    :func:`configure_cpu_distributed`) and initialises the gloo process
    group (see :func:`init_cpu_process_group`). Otherwise it does nothing,
    so GPU runs use MMEngine's defaults (nccl, one device per process).

    Args:
        cfg (Config): The config to edit in place.
        launcher (str): The job launcher (``--launcher``).

    Returns:
        bool: Whether the run was set up for CPU/gloo.
    """
    if not needs_cpu_distributed(launcher):
        return False
    configure_cpu_distributed(cfg)
    init_cpu_process_group(launcher, cfg.env_cfg.dist_cfg)
    return True
