"""CPU (gloo) distributed set-up of frskd_mm.utils.distributed."""
import os
import socket

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from frskd_mm.utils import CPU_MODEL_WRAPPER, configure_cpu_distributed
from frskd_mm.utils import distributed as dist_utils
from frskd_mm.utils import (init_cpu_process_group, needs_cpu_distributed,
                            setup_distributed)

TORCHRUN_VARS = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                 'MASTER_PORT')


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)


@pytest.fixture
def clean_env(monkeypatch):
    for name in TORCHRUN_VARS + ('SLURM_PROCID', 'SLURM_NTASKS',
                                 'SLURM_NODELIST', 'SLURM_LOCALID'):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _cfg(**kwargs) -> Config:
    return Config(dict(default_scope='mmpretrain', **kwargs))


def test_needs_cpu_distributed(no_cuda):
    assert needs_cpu_distributed('pytorch')
    assert needs_cpu_distributed('slurm')
    assert needs_cpu_distributed('mpi')
    assert not needs_cpu_distributed('none')
    with pytest.raises(ValueError, match='launcher'):
        needs_cpu_distributed('torchrun')


def test_not_needed_with_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert not needs_cpu_distributed('pytorch')


def test_configure_sets_gloo_and_keeps_other_keys():
    cfg = _cfg(
        env_cfg=dict(
            cudnn_benchmark=False,
            mp_cfg=dict(mp_start_method='fork'),
            dist_cfg=dict(backend='nccl', timeout=600)))
    configure_cpu_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.env_cfg.dist_cfg.timeout == 600
    assert cfg.env_cfg.mp_cfg.mp_start_method == 'fork'
    assert cfg.env_cfg.cudnn_benchmark is False
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=False)


def test_configure_creates_missing_env_cfg():
    cfg = _cfg()
    configure_cpu_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(
        CPU_MODEL_WRAPPER, find_unused_parameters=False)


def test_configure_carries_find_unused_parameters():
    # As MMEngine's default wrapper does with the top-level key (configs
    # whose backbone builds layers it never uses, e.g. EfficientNet).
    cfg = _cfg(find_unused_parameters=True)
    configure_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.model_wrapper_cfg.device_ids is None


def test_configure_keeps_a_user_model_wrapper():
    wrapper = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        find_unused_parameters=True)
    cfg = _cfg(model_wrapper_cfg=wrapper)
    configure_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg == wrapper
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'


def test_setup_leaves_gpu_runs_and_single_process_alone(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _cfg(env_cfg=dict(dist_cfg=dict(backend='nccl')))
    assert setup_distributed(cfg, 'pytorch') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert setup_distributed(cfg, 'none') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


def test_missing_torchrun_env_is_a_clear_error(no_cuda, clean_env):
    cfg = _cfg(env_cfg=dict(dist_cfg=dict(backend='nccl')))
    with pytest.raises(RuntimeError, match='RANK.*dist_train.sh'):
        setup_distributed(cfg, 'pytorch')
    assert not torch_dist.is_initialized()


def test_slurm_env_is_translated(clean_env):
    clean_env.setenv('SLURM_PROCID', '3')
    clean_env.setenv('SLURM_NTASKS', '4')
    clean_env.setenv('SLURM_NODELIST', 'node[1-2]')
    clean_env.setenv('SLURM_LOCALID', '1')
    clean_env.setenv('MASTER_ADDR', 'node1')  # no scontrol needed
    dist_utils._set_env_from_launcher('slurm', port=29611)
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'],
            os.environ['LOCAL_RANK'], os.environ['MASTER_PORT'],
            os.environ['MASTER_ADDR']) == ('3', '4', '1', '29611', 'node1')


def test_init_rejects_other_init_backends(clean_env):
    with pytest.raises(ValueError, match='init_backend'):
        init_cpu_process_group('pytorch', dict(init_backend='deepspeed'))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_setup_initialises_a_gloo_group(no_cuda, clean_env):
    assert not torch_dist.is_initialized()
    clean_env.setenv('RANK', '0')
    clean_env.setenv('WORLD_SIZE', '1')
    clean_env.setenv('MASTER_ADDR', '127.0.0.1')
    clean_env.setenv('MASTER_PORT', str(_free_port()))
    cfg = _cfg(env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)))
    try:
        assert setup_distributed(cfg, 'pytorch') is True
        assert torch_dist.is_initialized()
        assert torch_dist.get_backend() == 'gloo'
        assert torch_dist.get_world_size() == 1
        t = torch.ones(2)
        torch_dist.all_reduce(t)
        assert t.tolist() == [1.0, 1.0]
        # a second call does not re-initialise
        init_cpu_process_group('pytorch', cfg.env_cfg.dist_cfg)
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
