"""tools/export_student.py: the student alone, loadable by plain MMPretrain."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import load_tool
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope
from mmpretrain.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/frskd/resnet18_cifar100.py')

# Runs in a fresh interpreter that never imports frskd_mm.
PLAIN = r'''
import sys
import numpy as np
import torch
from mmpretrain.apis import ImageClassificationInferencer, init_model
cfg, ckpt, img, out = sys.argv[1:5]
model = init_model(cfg, ckpt, device='cpu')
inferencer = ImageClassificationInferencer(model=cfg, pretrained=ckpt,
                                           device='cpu')
scores = inferencer(np.load(img))[0]['pred_scores']
assert 'frskd_mm' not in sys.modules, 'frskd_mm was imported'
torch.save(dict(scores=torch.as_tensor(scores), head=type(model.head).__name__,
                neck=type(model.neck).__name__), out)
'''


def _perturb(model, scale: float, positive=('running_var', )):
    """Non-trivial weights and BN statistics, as after training: entries
    whose names contain ``positive`` in [0.9, 1.1), the rest N(0, scale)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if p.dtype.is_floating_point:
                p.copy_(
                    torch.rand_like(p) * 0.2 + 0.9 if any(
                        key in name
                        for key in positive) else torch.randn_like(p) * scale)


def _trained_like_checkpoint(path):
    """An FRSKD model with non-trivial weights and BN statistics."""
    cfg = Config.fromfile(CONFIG)
    cfg.model.head.num_classes = cfg.model.neck.num_classes = 10
    model = MODELS.build(cfg.model)
    _perturb(model, 0.05, positive=('running_var', 'bn.weight'))
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=[str(i) for i in range(10)]))),
        path)
    return model


def test_exported_student_predicts_what_frskd_predicts(tmp_path):
    from mmpretrain.apis import ImageClassificationInferencer
    ckpt = tmp_path / 'frskd.pth'
    _trained_like_checkpoint(ckpt)
    env = dict(os.environ, PYTHONPATH='')
    subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools/export_student.py'), CONFIG,
        str(ckpt), '--out-dir',
        str(tmp_path / 'out'), '--cfg-options', 'model.head.num_classes=10',
        'model.neck.num_classes=10'
    ],
                   check=True,
                   cwd=ROOT,
                   env=dict(env, PYTHONPATH=ROOT))
    cfg = tmp_path / 'out' / 'resnet18_cifar100_student.py'
    student = tmp_path / 'out' / 'resnet18_cifar100_student.pth'
    text = cfg.read_text()
    assert 'frskd' not in text.lower().replace('frskd_export', '')
    state = torch.load(student, map_location='cpu', weights_only=False)
    assert not any(
        k.startswith(('neck.', 'head.distill')) for k in state['state_dict'])

    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    np.save(tmp_path / 'img.npy', img)
    out = tmp_path / 'plain.pt'
    subprocess.run([
        sys.executable, '-c', PLAIN,
        str(cfg),
        str(student),
        str(tmp_path / 'img.npy'),
        str(out)
    ],
                   check=True,
                   cwd=str(tmp_path),
                   env=env)
    plain = torch.load(out, weights_only=False)
    assert plain['head'] == 'LinearClsHead'
    assert plain['neck'] == 'GlobalAveragePooling'

    frskd_cfg = Config.fromfile(CONFIG)
    frskd_cfg.model.head.num_classes = frskd_cfg.model.neck.num_classes = 10
    frskd = ImageClassificationInferencer(
        model=frskd_cfg, pretrained=str(ckpt), device='cpu')
    assert type(frskd.model.neck).__name__ == 'FRSKDNeck'
    frskd_scores = torch.as_tensor(frskd(img)[0]['pred_scores'])
    torch.testing.assert_close(plain['scores'], frskd_scores)
    # Scores must depend on the weights (not a constant).
    assert plain['scores'].std() > 0


SEG_CONFIG = osp.join(ROOT, 'configs/demo/frskd_seg_digits.py')

# Plain MMSegmentation, in a fresh interpreter that never imports frskd_mm:
# the Inferencer-style API on one image, then what MMSeg's tools/test.py
# does (Runner.from_cfg(cfg).test()) on the exported config's test split.
PLAIN_SEG = r'''
import sys
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmseg.apis import inference_model, init_model
cfg_path, ckpt, img, work_dir, out = sys.argv[1:6]
model = init_model(cfg_path, ckpt, device='cpu')
result = inference_model(model, img)
cfg = Config.fromfile(cfg_path)
cfg.work_dir, cfg.load_from = work_dir, ckpt
metrics = Runner.from_cfg(cfg).test()
assert 'frskd_mm' not in sys.modules, 'frskd_mm was imported'
torch.save(dict(logits=result.seg_logits.data,
                head=type(model.decode_head).__name__,
                has_neck=model.with_neck,
                classes=list(model.dataset_meta['classes']),
                miou=metrics['mIoU']), out)
'''


def test_exported_seg_student_runs_in_plain_mmseg(tmp_path, write_canvases):
    from mmseg.apis import inference_model, init_model
    from mmseg.registry import MODELS as SEG_MODELS

    import frskd_mm  # noqa: F401  (registers the FRSKD seg modules)
    from frskd_mm.datasets.digit_canvas import DigitCanvasDataset
    data_root = str(tmp_path / 'canvas')
    write_canvases(data_root, num_canvases={'train': 1, 'val': 4})
    data_opts = [
        f'{split}_dataloader.dataset.data_root={data_root}'
        for split in ('train', 'val', 'test')
    ]

    # An FRSKD segmentor with non-trivial weights and BN statistics.
    cfg = Config.fromfile(SEG_CONFIG)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = SEG_MODELS.build(cfg.model)
    _perturb(model, 0.1)
    meta = dict(
        classes=DigitCanvasDataset.METAINFO['classes'],
        palette=DigitCanvasDataset.METAINFO['palette'])
    ckpt = tmp_path / 'frskd_seg.pth'
    torch.save(
        dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)),
        ckpt)

    # The command line runs as a script in the test above; here its main().
    load_tool('tools/export_student.py').main([
        SEG_CONFIG,
        str(ckpt), '--out-dir',
        str(tmp_path / 'out'), '--cfg-options'
    ] + data_opts)
    cfg_out = tmp_path / 'out' / 'frskd_seg_digits_student.py'
    student = tmp_path / 'out' / 'frskd_seg_digits_student.pth'
    assert 'frskd' not in cfg_out.read_text().lower().replace(
        'frskd_seg_digits', '')
    state = torch.load(student, map_location='cpu', weights_only=False)
    training_only = ('neck.', 'decode_head.teacher.', 'decode_head.distill.',
                     'decode_head.student.')
    assert not any(k.startswith(training_only) for k in state['state_dict'])

    img = osp.join(data_root, 'img_dir', 'val', '00000.png')
    out = tmp_path / 'plain.pt'
    subprocess.run([
        sys.executable, '-c', PLAIN_SEG,
        str(cfg_out),
        str(student), img,
        str(tmp_path / 'plain_test'),
        str(out)
    ],
                   check=True,
                   cwd=str(tmp_path),
                   env=dict(os.environ, PYTHONPATH=''))
    plain = torch.load(out, weights_only=False)
    assert plain['head'] == 'FCNHead' and not plain['has_neck']
    assert plain['classes'] == list(DigitCanvasDataset.METAINFO['classes'])
    assert 0 <= plain['miou'] <= 100

    frskd_cfg = Config.fromfile(SEG_CONFIG)
    try:
        # mmseg's init_model makes 'mmseg' the default scope: restore
        # conftest's, so that later tests build in MMPretrain's.
        frskd = init_model(frskd_cfg, str(ckpt), device='cpu')
        expected = inference_model(frskd, img).seg_logits.data
    finally:
        init_default_scope('mmpretrain')
    assert type(frskd.decode_head).__name__ == 'FRSKDSegHead'
    torch.testing.assert_close(plain['logits'], expected)
    # Logits must depend on the weights and the image (not a constant).
    assert expected.std() > 0


def test_baseline_checkpoints_are_refused_and_ddp_ones_accepted(tmp_path):
    ckpt = tmp_path / 'frskd.pth'
    model = _trained_like_checkpoint(ckpt)
    opts = [
        '--cfg-options', 'model.head.num_classes=10',
        'model.neck.num_classes=10'
    ]
    tool = load_tool('tools/export_student.py')
    # A baseline checkpoint (no self-teacher) given with the FRSKD config:
    # main() raises (the command exits with 1) and writes nothing.
    baseline = tmp_path / 'baseline.pth'
    torch.save(
        dict(
            state_dict={
                k: v
                for k, v in model.state_dict().items()
                if not k.startswith('neck.')
            }), baseline)
    with pytest.raises(
            ValueError,
            match=r'has no self-teacher \(no neck\.layers\.\* '
            r'tensors\).*Wrong work dir\?'):
        tool.main(
            [CONFIG,
             str(baseline), '--out-dir',
             str(tmp_path / 'out'), *opts])
    assert not (tmp_path / 'out').exists()

    # Saved from a DDP-wrapped model: 'module.' prefixes, as tools/test.py
    # (MMEngine's load_checkpoint) accepts them.
    ddp = tmp_path / 'ddp.pth'
    torch.save(
        dict(state_dict={
            f'module.{k}': v
            for k, v in model.state_dict().items()
        }), ddp)
    cfg_path, ckpt_path, removed, _ = tool.export(
        CONFIG,
        str(ddp),
        str(tmp_path / 'ddp_out'),
        cfg_options={
            'model.head.num_classes': 10,
            'model.neck.num_classes': 10
        })
    state = torch.load(ckpt_path, weights_only=False)['state_dict']
    assert removed > 0 and not any(
        k.startswith(('module.', 'neck.')) for k in state)
    torch.testing.assert_close(state['head.fc.weight'],
                               model.state_dict()['head.fc.weight'])


def test_config_dumped_by_a_training_run_exports_plain(monkeypatch,
                                                       digits_root):
    """The config in a work directory carries the run-time guards that
    tools/train.py adds; the exported config must not."""
    from frskd_mm.apis import student_config
    monkeypatch.setenv('LOCAL_RANK', '0')
    tool = load_tool('tools/train.py')
    config = osp.join(ROOT, 'configs/demo/frskd_wrn16_2_digits.py')
    # The run guards check the data before anything is built.
    data = [
        f'{split}_dataloader.dataset.data_root={digits_root}'
        for split in ('train', 'val', 'test')
    ]
    args = tool.parse_args(
        [config, '--cfg-options', 'randomness.deterministic=True', *data])
    dumped = tool.merge_args(Config.fromfile(config), args)
    text = dumped.pretty_text
    guards = ('DrawSeededDataset', 'DrawSeededSampler', 'DataCheckHook',
              'collate_with_size_check', 'AtomicCheckpointHook',
              'RandomStateHook')
    assert all(name in text for name in guards)
    plain, _ = student_config(Config.fromstring(text, '.py'))
    plain_text = plain.pretty_text
    assert not [name for name in guards + ('FRSKD', ) if name in plain_text]
    assert plain.train_dataloader.sampler == dict(
        type='DefaultSampler', shuffle=True)
    assert plain.default_hooks.checkpoint.type == 'CheckpointHook'
    assert plain.train_dataloader.collate_fn == dict(type='default_collate')
