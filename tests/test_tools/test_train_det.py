"""End to end through tools/train.py with the detection configs.

Every FRSKD detection config (RetinaNet and FCOS on COCO, RetinaNet on VOC,
with their ResNet-50) and every demo config trains on tiny fixtures in the
real formats: the digit canvases written by the COCO converter
(tools/dataset_converters/digit_canvas_to_coco.py; renamed to COCO's class
names for the COCO configs) and a two-year VOCdevkit of XML annotations.
The baseline twins of the ResNet-50 configs are MMDetection's configs
unchanged (tests/test_configs/test_det_configs.py checks that, and their
deployed cost against the FRSKD twins'); training them here would only
retrain MMDetection. All runs share one interpreter (``run_train_jobs``:
imports paid once). The FRSKD demo config also resumes exactly
(``randomness.deterministic``), and a broken annotation file stops the run
before the first iteration, naming the key.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import load_tool
from tool_runs import ROOT, log_of, run_train_jobs, scalars

COCO_CLASSES = ('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus',
                'train', 'truck', 'boat', 'traffic light')
CONFIGS = {
    f'frskd/{name}': osp.join(ROOT, 'configs', 'frskd', f'{name}.py')
    for name in ('retinanet_r50_fpn_1x_coco',
                 'fcos_r50-caffe_fpn_gn-head_1x_coco',
                 'retinanet_r50_fpn_1x_voc0712')
}
DEMO = {
    name: osp.join(ROOT, 'configs', 'demo', f'{name}_det_digits.py')
    for name in ('baseline', 'frskd', 'frskd_stable')
}
FRSKD_KEYS = ('loss_teacher_cls', 'loss_teacher_bbox', 'loss_kd', 'loss_att')


def write_coco_fixture(root) -> str:
    """2 train and 2 val digit canvases from the real converter, plus
    copies of the annotation files with COCO's first ten class names."""
    write_coco = load_tool(
        'tools/dataset_converters/digit_canvas_to_coco.py').write_coco
    write_coco(str(root), num_canvases={'train': 2, 'val': 2})
    for split in ('train', 'val'):
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        with open(path) as f:
            data = json.load(f)
        for category in data['categories']:
            category['name'] = COCO_CLASSES[category['id'] - 1]
        with open(path.replace('instances_', 'coco_names_'), 'w') as f:
            json.dump(data, f)
    return str(root)


def write_voc_boxes(root) -> str:
    """A VOCdevkit with one 64x96 image per split (VOC2007 trainval and
    test, VOC2012 trainval), one box of >= 32 pixels each, as XML."""
    rng = np.random.default_rng(0)
    splits = {'VOC2007': ('trainval', 'test'), 'VOC2012': ('trainval', )}
    for year, names in splits.items():
        for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
            os.makedirs(osp.join(root, year, sub), exist_ok=True)
        for i, split in enumerate(names):
            name = f'{year[3:]}_{i:06d}'
            img = rng.integers(0, 60, (64, 96, 3)).astype(np.uint8)
            img[8:56, 10:60] = (200, 40, 120)
            cv2.imwrite(osp.join(root, year, 'JPEGImages', f'{name}.jpg'), img)
            with open(osp.join(root, year, 'Annotations', f'{name}.xml'),
                      'w') as f:
                f.write(f'<annotation><filename>{name}.jpg</filename><size>'
                        '<width>96</width><height>64</height><depth>3</depth>'
                        '</size><object><name>cat</name><difficult>0'
                        '</difficult><bndbox><xmin>10</xmin><ymin>8</ymin>'
                        '<xmax>60</xmax><ymax>56</ymax></bndbox></object>'
                        '</annotation>')
            with open(
                    osp.join(root, year, 'ImageSets', 'Main', f'{split}.txt'),
                    'w') as f:
                f.write(name + '\n')
    return str(root)


def coco_options(root, frskd: bool = True):
    """A COCO config on the digit fixture: 64x64, batch 2, one epoch of
    one iteration, no validation, no checkpoint, no download."""
    opts = _common(frskd) + [
        'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.save_last=False',
        'train_dataloader.dataset.pipeline.2.scale=(64,64)',
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.ann_file=annotations/coco_names_train.json',
        'train_dataloader.dataset.data_prefix.img=train/',
    ]
    return opts


def voc_options(root, frskd: bool = True):
    """A VOC config on the VOCdevkit fixture: 96x64, batch 2 (one image
    per year, no repeat): one iteration, then VOC mAP on the test image."""
    opts = _common(frskd) + [
        'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.save_last=False',
        'train_dataloader.dataset.times=1',
        f'val_dataloader.dataset.data_root={root}',
        'val_dataloader.dataset.pipeline.1.scale=(96,64)',
        'val_dataloader.num_workers=0',
    ]
    for i in (0, 1):
        prefix = f'train_dataloader.dataset.dataset.datasets.{i}'
        opts += [
            f'{prefix}.data_root={root}', f'{prefix}.pipeline.2.scale=(96,64)'
        ]
    return opts


def _common(frskd: bool):
    opts = [
        'model.backbone.init_cfg=None', 'default_hooks.logger.interval=1',
        'randomness.seed=0', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0'
    ]
    if frskd:  # full-weight distillation from the first iteration
        opts += ['custom_hooks.0.warmup=0', 'custom_hooks.0.ramp=0']
    return opts


def demo_options(root, iters, deterministic=False):
    opts = [
        f'train_cfg.max_iters={iters}', 'train_cfg.val_interval=100',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=-1', 'randomness.seed=0',
        'model.test_cfg.score_thr=0.0',
        f'randomness.deterministic={deterministic}',
        f'val_evaluator.ann_file={root}/annotations/instances_val.json'
    ]
    for split in ('train', 'val'):
        opts += [
            f'{split}_dataloader.dataset.data_root={root}',
            f'{split}_dataloader.batch_size=2',
            f'{split}_dataloader.num_workers=0'
        ]
    return opts


def _job(config, work_dir, options, extra=()):
    return dict(argv=[
        config, '--work-dir',
        str(work_dir), *extra, '--cfg-options', *options
    ])


@pytest.fixture(scope='module')
def det_runs(tmp_path_factory):
    """Every detection run of this file, from one interpreter:
    ``{key: (work_dir, job)}``."""
    coco = write_coco_fixture(tmp_path_factory.mktemp('digit_boxes'))
    voc = write_voc_boxes(tmp_path_factory.mktemp('VOCdevkit'))
    folder = tmp_path_factory.mktemp('det_runs')
    dirs = {}

    def work(key, name=None):
        dirs[key] = folder / (name or key.replace('/', '_'))
        return dirs[key]

    jobs = {}
    for key, config in CONFIGS.items():
        if key.endswith('voc0712'):  # validation: VOC mAP
            jobs[key] = _job(config, work(key), voc_options(voc, True))
        else:
            jobs[key] = _job(config, work(key), coco_options(coco, True),
                             ('--no-validate', ))
    for name in ('baseline', 'frskd_stable'):
        key = f'demo/{name}'
        jobs[key] = _job(DEMO[name], work(key), demo_options(coco, 2))
    hook = [
        'custom_hooks.0.by_ratio=False', 'custom_hooks.0.warmup=1',
        'custom_hooks.0.ramp=2'
    ]
    jobs['demo/frskd'] = _job(DEMO['frskd'], work('demo/frskd'),
                              demo_options(coco, 4, True) + hook)
    jobs['resume_1'] = _job(DEMO['frskd'], work('resume_1', 'resumed'),
                            demo_options(coco, 2, True) + hook)
    jobs['resume_2'] = dict(
        _job(DEMO['frskd'], work('resume_2', 'resumed'),
             demo_options(coco, 4, True) + hook, ('--resume', )),
        after=['resume_1'])
    broken = osp.join(folder, 'broken.json')
    with open(broken, 'w') as f:
        f.write('{"images": [{"id": 0, "file_name": "00000.png"')
    jobs['broken'] = _job(
        DEMO['frskd'], work('broken'),
        demo_options(coco, 2) +
        [f'train_dataloader.dataset.ann_file={broken}'])
    done = run_train_jobs(jobs, folder)
    return {key: (dirs[key], done[key]) for key in jobs}


@pytest.mark.parametrize('key', list(CONFIGS) + [f'demo/{n}' for n in DEMO])
def test_config_trains_through_tools_train(det_runs, key):
    work_dir, job = det_runs[key]
    assert job['returncode'] == 0, log_of(job)[-4000:]
    records = [r for r in scalars(work_dir) if 'loss_cls' in r]
    assert records and records[0]['iter'] == 1
    frskd = 'frskd' in key
    for r in records:
        assert np.isfinite(r['loss']) and r['loss_cls'] > 0
        assert all(k in r for k in FRSKD_KEYS) == frskd, r
        if frskd and not key.startswith('demo/'):  # full weight at once
            assert r['loss_kd'] > 0 and r['loss_att'] > 0
    if key == 'demo/frskd_stable':  # the gate stays closed: the
        # self-teacher is not ahead of the student after two iterations
        assert records[-1]['loss_kd'] == 0 and records[-1]['loss_att'] == 0
    elif frskd:  # the demo configs: ramped up from 0
        assert records[-1]['loss_kd'] > 0 and records[-1]['loss_att'] > 0
    if 'fcos' in key:
        assert 'loss_centerness' in records[0]
        assert ('loss_teacher_centerness' in records[0]) == frskd
    metrics = [
        r for r in scalars(work_dir)
        if 'pascal_voc/mAP' in r or 'coco/bbox_mAP' in r
    ]
    if key == 'frskd/retinanet_r50_fpn_1x_voc0712' or key.startswith('demo'):
        assert metrics, 'no validation metric logged'


def _weights(path):
    return torch.load(
        path, map_location='cpu', weights_only=False)['state_dict']


def test_resume_is_exact(det_runs):
    """Distillation on (warm-up 1, ramp 2 iterations): 2 iterations, then
    --resume to 4, ends with exactly the weights of 4 uninterrupted ones."""
    for key in ('demo/frskd', 'resume_1', 'resume_2'):
        assert det_runs[key][1]['returncode'] == 0, \
            log_of(det_runs[key][1])[-4000:]
    assert 'resumed' in log_of(det_runs['resume_2'][1]).lower()
    straight = _weights(det_runs['demo/frskd'][0] / 'iter_4.pth')
    resumed = _weights(det_runs['resume_2'][0] / 'iter_4.pth')
    assert straight.keys() == resumed.keys()
    assert any(k.startswith('bbox_head.teacher.') for k in straight)
    for k in straight:
        assert torch.equal(straight[k], resumed[k]), k
    losses = {
        key:
        [r['loss_kd'] for r in scalars(det_runs[key][0]) if 'loss_kd' in r]
        for key in ('demo/frskd', 'resume_2')
    }
    assert losses['demo/frskd'][0] == 0 and losses['demo/frskd'][-1] > 0
    assert losses['resume_2'] == losses['demo/frskd']


def test_broken_annotation_file_stops_before_training(det_runs):
    work_dir, job = det_runs['broken']
    log = log_of(job)
    assert job['returncode'] != 0
    assert 'train_dataloader.dataset.ann_file' in log
    assert 'is not valid JSON' in log
    assert not scalars(work_dir)


# Runs in a fresh interpreter that never imports frskd_mm.
PLAIN = r'''
import sys
import torch
from mmdet.apis import inference_detector, init_detector
cfg, ckpt, out = sys.argv[1:4]
model = init_detector(cfg, ckpt, device='cpu')
results = inference_detector(model, sys.argv[4:])
assert 'frskd_mm' not in sys.modules, 'frskd_mm was imported'
torch.save(dict(
    detections=[dict(r.pred_instances.to_dict()) for r in results],
    neck=type(model.neck).__name__, head=type(model.bbox_head).__name__,
    params=sum(p.numel() for p in model.parameters())), out)
'''


def _detections(model, images):
    from mmdet.apis import inference_detector
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        results = inference_detector(model, images)
    return [dict(r.pred_instances.to_dict()) for r in results]


def test_exported_student_detects_what_frskd_detects(det_runs, tmp_path,
                                                     capsys):
    """tools/export_student.py on the trained FRSKD demo checkpoint: a plain
    MMDetection config and checkpoint that a clean interpreter loads
    (frskd_mm never imported) and that gives the FRSKD model's detections;
    the deployed detector has its baseline twin's parameters and FLOPs."""
    import subprocess
    import sys

    from frskd_mm.analysis.cost import count_flops
    from frskd_mm.apis import init_model
    work_dir, job = det_runs['demo/frskd']
    assert job['returncode'] == 0, log_of(job)[-3000:]
    ckpt = str(work_dir / 'iter_4.pth')
    # Every detection above the threshold 0 (a 4-iteration model).
    tool = load_tool('tools/export_student.py')
    tool.main([
        DEMO['frskd'], ckpt, '--out-dir',
        str(tmp_path), '--cfg-options', 'model.test_cfg.score_thr=0.0'
    ])
    assert 'from mmdet.apis import init_detector' in capsys.readouterr().out
    cfg = str(tmp_path / 'frskd_det_digits_student.py')
    student = str(tmp_path / 'frskd_det_digits_student.pth')
    state = torch.load(
        student, map_location='cpu', weights_only=False)['state_dict']
    assert not any(
        k.startswith(('bbox_head.teacher.', 'bbox_head.distill',
                      'neck.layers.')) for k in state)
    assert any(k.startswith('neck.lateral_convs.') for k in state)

    root = _fixture_root(job)
    images = [
        osp.join(root, 'val', f)
        for f in sorted(os.listdir(osp.join(root, 'val')))
    ]
    out = str(tmp_path / 'plain.pt')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run(
        [sys.executable, '-c', PLAIN, cfg, student, out, *images],
        cwd=str(tmp_path),
        env=dict(env, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    plain = torch.load(out, weights_only=False)
    assert (plain['neck'], plain['head']) == ('FPN', 'RetinaHead')

    frskd = init_model(
        DEMO['frskd'],
        ckpt,
        cfg_options=dict(model=dict(test_cfg=dict(score_thr=0.0))))
    assert type(frskd.neck).__name__ == 'FRSKDNeck'
    expected = _detections(frskd, images)
    assert sum(len(d['scores']) for d in expected) > 0
    for got, want in zip(plain['detections'], expected):
        for k in ('bboxes', 'scores', 'labels'):
            torch.testing.assert_close(got[k], want[k])

    baseline = init_model(DEMO['baseline'])
    assert plain['params'] == sum(p.numel() for p in baseline.parameters())
    deployed = init_model(cfg, student)
    x = torch.randn(1, 3, 64, 64)
    assert count_flops(deployed,
                       (x, ))['total'] == count_flops(baseline,
                                                      (x, ))['total'] > 0


def _fixture_root(job) -> str:
    opt = [a for a in job['argv'] if a.startswith('val_evaluator.ann_file=')]
    return osp.dirname(osp.dirname(opt[0].split('=', 1)[1]))


def test_export_refuses_baselines(det_runs, tmp_path):
    """A baseline config, or the FRSKD config with a baseline checkpoint:
    no self-teacher to remove, a clear error."""
    from frskd_mm.apis import export_student
    work_dir, job = det_runs['demo/baseline']
    assert job['returncode'] == 0, log_of(job)[-3000:]
    ckpt = str(work_dir / 'iter_2.pth')
    with pytest.raises(ValueError, match='expects an FRSKD detection config'):
        export_student(DEMO['baseline'], ckpt)
    with pytest.raises(ValueError, match=r'has no self-teacher'):
        export_student(DEMO['frskd'], ckpt)
