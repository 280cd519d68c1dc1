"""Two CPU processes through tools/dist_train.sh (torchrun, gloo, DDP)."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import textwrap

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# A hook that records, on every rank, what the test needs to see: the
# losses of each iteration and the final parameters; for classifiers also
# that FRSKDHook's stop-gradient is on inside the DDP-wrapped model and the
# gradient the distillation terms give the self-teacher on that rank's first
# batch. REGISTRY is the package whose hook registry the runner's scope uses.
PROBE = textwrap.dedent('''
    import copy, json, os.path as osp
    import torch
    from mmengine.dist import get_rank
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper
    from REGISTRY.registry import HOOKS


    @HOOKS.register_module()
    class RankProbeHook(Hook):
        priority = 'LOWEST'

        def before_train(self, runner):
            self.record = dict(wrapped=is_model_wrapper(runner.model),
                               losses=[])

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self.record['losses'].append(
                {k: float(v) for k, v in outputs.items()})
            if batch_idx == 0 and hasattr(runner.model.module, 'head'):
                self.record['teacher_distill_grad'] = self._grad(
                    runner.model.module, data_batch)

        @staticmethod
        def _grad(model, data_batch):
            state = copy.deepcopy(model.state_dict())
            data = model.data_preprocessor(data_batch, True)
            losses = model(**data, mode='loss')
            distill = losses['loss_kd'] + losses['loss_att']
            teacher = list(model.neck.parameters())
            grads = torch.autograd.grad(distill, teacher, allow_unused=True)
            model.load_state_dict(state)
            assert model.head.distill.stop_target_grad is True
            return max(0.0 if g is None else g.abs().max().item()
                       for g in grads)

        def after_train(self, runner):
            model = runner.model.module
            torch.save({k: v for k, v in model.named_parameters()},
                       osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
            with open(osp.join(runner.work_dir,
                               f'rank{get_rank()}.json'), 'w') as f:
                json.dump(self.record, f)
''')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _dist_train(config, work_dir, opts, tmp_path):
    """tools/dist_train.sh CONFIG 2 on CPU; the probe module on the path."""
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(_free_port()),
        PYTHONPATH=str(tmp_path),
        OMP_NUM_THREADS='1')
    proc = subprocess.run([
        'bash', 'tools/dist_train.sh',
        str(config), '2', '--work-dir',
        str(work_dir), '--cfg-options', *opts
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert 'gloo' in proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def _rank_records(work_dir, iters):
    """Both ranks' records: DDP-wrapped, ``iters`` finite losses each, and
    different losses on the two ranks (they saw different data)."""
    records = []
    for rank in (0, 1):
        with open(work_dir / f'rank{rank}.json') as f:
            records.append(json.load(f))
    for record in records:
        assert record['wrapped'] is True
        assert len(record['losses']) == iters
        for losses in record['losses']:
            assert all(
                torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert records[0]['losses'] != records[1]['losses']
    return records


def _assert_one_model(work_dir):
    """DDP kept one model: identical parameters on both ranks."""
    params = [
        torch.load(work_dir / f'rank{r}.pth', weights_only=False)
        for r in (0, 1)
    ]
    assert params[0].keys() == params[1].keys()
    assert any(k.startswith('neck.') for k in params[0])
    for name in params[0]:
        assert torch.equal(params[0][name], params[1][name]), name


def _checkpoints(work_dir):
    return sorted(
        osp.basename(p) for p in glob.glob(str(work_dir / '*.pth'))
        if not osp.basename(p).startswith('rank'))


def test_two_cpu_processes_train_one_model(cifar100_root, tmp_path):
    (tmp_path / 'rank_probe.py').write_text(
        PROBE.replace('REGISTRY', 'mmpretrain'))
    config = tmp_path / 'dist_wrn.py'
    config.write_text(
        textwrap.dedent(f'''
        _base_ = ['{ROOT}/configs/frskd/wrn16_2_cifar100.py']
        custom_imports = dict(imports=['frskd_mm', 'rank_probe'],
                              allow_failed_imports=False)
        custom_hooks = [dict(type='FRSKDHook'), dict(type='RankProbeHook')]
    '''))
    work_dir = tmp_path / 'work'
    opts = [
        'train_cfg.max_epochs=1', 'randomness.seed=0',
        'default_hooks.logger.interval=1'
    ]
    for split in ('train', 'val', 'test'):
        opts += [
            f'{split}_dataloader.dataset.data_root={cifar100_root}',
            f'{split}_dataloader.batch_size=4',
            f'{split}_dataloader.num_workers=0'
        ]
    _dist_train(config, work_dir, opts, tmp_path)
    # 32 images, 2 ranks, batch 4: 4 iterations on each rank.
    for record in _rank_records(work_dir, 4):
        assert {'loss_cls', 'loss_teacher', 'loss_kd',
                'loss_att'} <= set(record['losses'][0])
        assert record['teacher_distill_grad'] == 0.0
    _assert_one_model(work_dir)
    # Only rank 0 writes checkpoints, once each (the paper config keeps no
    # best one: that would be picked on the test split).
    assert _checkpoints(work_dir) == ['epoch_1.pth']


def test_two_cpu_processes_train_one_segmentor(tmp_path, write_canvases):
    data_root = str(tmp_path / 'canvas')
    write_canvases(data_root, num_canvases={'train': 8, 'val': 2})
    (tmp_path / 'seg_rank_probe.py').write_text(
        PROBE.replace('REGISTRY', 'mmseg'))
    config = tmp_path / 'dist_seg.py'
    config.write_text(
        textwrap.dedent(f'''
        _base_ = ['{ROOT}/configs/demo/frskd_seg_digits.py']
        custom_imports = dict(imports=['frskd_mm', 'seg_rank_probe'],
                              allow_failed_imports=False)
        custom_hooks = [dict(type='FRSKDHook', warmup=1, ramp=1,
                             ramp_type='sigmoid'),
                        dict(type='RankProbeHook')]
    '''))
    work_dir = tmp_path / 'work'
    opts = [
        'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=3', 'randomness.seed=0',
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2'
    ]
    for split in ('train', 'val', 'test'):
        opts += [
            f'{split}_dataloader.dataset.data_root={data_root}',
            f'{split}_dataloader.num_workers=0'
        ]
    log = _dist_train(config, work_dir, opts, tmp_path)
    assert 'mIoU' in log
    for record in _rank_records(work_dir, 3):
        # Warm-up, then distillation on (the hook under DDP).
        assert record['losses'][0]['decode.loss_kd'] == 0.0
        assert record['losses'][2]['decode.loss_att'] > 0
    _assert_one_model(work_dir)
    assert _checkpoints(work_dir) == ['iter_3.pth']
