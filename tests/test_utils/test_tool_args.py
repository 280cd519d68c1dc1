"""Command-line handling of tools/train.py and tools/test.py."""
import os.path as osp

import pytest
from conftest import load_tool
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool(name):
    return load_tool(f'tools/{name}.py')


@pytest.fixture(scope='module')
def train_tool():
    return _load_tool('train')


@pytest.fixture(scope='module')
def test_tool():
    return _load_tool('test')


@pytest.fixture(autouse=True)
def keep_local_rank(monkeypatch):
    # parse_args exports LOCAL_RANK like MMPretrain's tools; undo it.
    monkeypatch.setenv('LOCAL_RANK', '0')


def _cls_cfg(**kwargs) -> Config:
    loader = dict(
        batch_size=4,
        num_workers=2,
        dataset=dict(type='LocalCIFAR100', pipeline=[dict(type='PackInputs')]))
    return Config(
        dict(
            default_scope='mmpretrain',
            model=dict(type='ImageClassifier'),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            train_dataloader=dict(loader),
            val_dataloader=dict(loader),
            test_dataloader=dict(loader),
            val_cfg=dict(),
            val_evaluator=dict(type='Accuracy'),
            test_cfg=dict(),
            test_evaluator=dict(type='Accuracy'),
            default_hooks=dict(
                visualization=dict(type='VisualizationHook', enable=False)),
            **kwargs))


def _seg_cfg() -> Config:
    return Config(
        dict(
            default_scope='mmseg',
            model=dict(type='EncoderDecoder'),
            optim_wrapper=dict(
                type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)),
            train_dataloader=dict(
                batch_size=2,
                num_workers=2,
                persistent_workers=True,
                dataset=dict()),
            test_dataloader=dict(batch_size=1, num_workers=2, dataset=dict()),
            test_cfg=dict(type='TestLoop'),
            test_evaluator=dict(type='IoUMetric'),
            default_hooks=dict(
                visualization=dict(type='SegVisualizationHook', draw=False)),
            visualizer=dict(type='SegLocalVisualizer')))


def test_train_defaults(train_tool):
    args = train_tool.parse_args(['configs/frskd/wrn16_2_cifar100.py'])
    cfg = train_tool.merge_args(_cls_cfg(), args)
    assert cfg.work_dir == osp.join('./work_dirs', 'wrn16_2_cifar100')
    assert cfg.launcher == 'none'
    assert 'resume' not in cfg
    assert cfg.train_dataloader.collate_fn == dict(
        type='collate_with_size_check',
        collate_fn=dict(type='default_collate'))
    assert cfg.train_dataloader.persistent_workers is True
    assert cfg.val_cfg == dict()


def test_train_work_dir_priority(train_tool):
    args = train_tool.parse_args(['a/b.py'])
    cfg = train_tool.merge_args(_cls_cfg(work_dir='from_cfg'), args)
    assert cfg.work_dir == 'from_cfg'
    args = train_tool.parse_args(['a/b.py', '--work-dir', 'cli'])
    cfg = train_tool.merge_args(_cls_cfg(work_dir='from_cfg'), args)
    assert cfg.work_dir == 'cli'


def test_train_resume(train_tool):
    args = train_tool.parse_args(['c.py', '--resume'])
    cfg = train_tool.merge_args(_cls_cfg(load_from='x.pth'), args)
    assert cfg.resume is True and cfg.load_from is None

    args = train_tool.parse_args(['c.py', '--resume', 'w/epoch_2.pth'])
    cfg = train_tool.merge_args(_cls_cfg(), args)
    assert cfg.resume is True and cfg.load_from == 'w/epoch_2.pth'


def test_train_switches(train_tool):
    args = train_tool.parse_args([
        'c.py', '--amp', '--no-validate', '--auto-scale-lr', '--no-pin-memory',
        '--launcher', 'pytorch', '--local-rank', '1'
    ])
    cfg = train_tool.merge_args(
        _cls_cfg(auto_scale_lr=dict(base_batch_size=128)), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.val_evaluator is None
    assert cfg.auto_scale_lr.enable is True
    assert cfg.train_dataloader.pin_memory is False
    assert cfg.launcher == 'pytorch'
    assert args.local_rank == 1


def test_train_no_validate_with_val_cfg_options(train_tool):
    args = train_tool.parse_args([
        'c.py', '--no-validate', '--cfg-options',
        'val_dataloader.batch_size=2', 'val_dataloader.num_workers=0'
    ])
    cfg = train_tool.merge_args(_cls_cfg(), args)
    assert cfg.val_dataloader is None and cfg.val_cfg is None


def test_train_auto_scale_lr_needs_base_batch_size(train_tool):
    args = train_tool.parse_args(['c.py', '--auto-scale-lr'])
    with pytest.raises(ValueError, match='base_batch_size'):
        train_tool.merge_args(_cls_cfg(), args)


def test_train_cfg_options_and_zero_workers(train_tool):
    args = train_tool.parse_args([
        'c.py', '--cfg-options', 'train_dataloader.num_workers=0',
        'train_dataloader.batch_size=2', 'train_cfg.max_epochs=3'
    ])
    cfg = train_tool.merge_args(_cls_cfg(train_cfg=dict(max_epochs=200)), args)
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_cfg.max_epochs == 3
    # PyTorch rejects persistent workers without workers
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.persistent_workers is True


def test_train_segmentation_keeps_mmseg_dataloaders(train_tool):
    args = train_tool.parse_args(
        ['seg.py', '--no-persistent-workers', '--amp', '--resume'])
    cfg = train_tool.merge_args(_seg_cfg(), args)
    assert cfg.train_dataloader.collate_fn == dict(  # MMSeg's default
        type='collate_with_size_check',
        collate_fn=dict(type='pseudo_collate'))
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.resume is True


def test_test_defaults(test_tool):
    args = test_tool.parse_args(['x/cfg.py', 'w/epoch_3.pth'])
    cfg = test_tool.merge_args(_cls_cfg(), args)
    assert cfg.load_from == 'w/epoch_3.pth'
    assert cfg.work_dir == osp.join('./work_dirs', 'cfg')
    assert cfg.test_dataloader.collate_fn == dict(
        type='collate_with_size_check',
        collate_fn=dict(type='default_collate'))
    assert cfg.default_hooks.visualization.enable is False


def test_test_show_dir_and_amp(test_tool):
    args = test_tool.parse_args(
        ['cfg.py', 'c.pth', '--show-dir', 'vis', '--interval', '5', '--amp'])
    cfg = test_tool.merge_args(_cls_cfg(), args)
    hook = cfg.default_hooks.visualization
    assert hook.enable is True and hook.out_dir == 'vis'
    assert hook.interval == 5 and hook.show is False
    assert cfg.test_cfg.fp16 is True


def test_test_show_dir_needs_a_visualization_hook(test_tool):
    args = test_tool.parse_args(['cfg.py', 'c.pth', '--show-dir', 'vis'])
    cfg = _cls_cfg()
    cfg.default_hooks = dict()
    with pytest.raises(ValueError, match='VisualizationHook'):
        test_tool.merge_args(cfg, args)


def test_test_tta_classification(test_tool):
    args = test_tool.parse_args(['cfg.py', 'c.pth', '--tta'])
    cfg = test_tool.merge_args(_cls_cfg(), args)
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'ImageClassifier'
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'


def test_test_segmentation(test_tool):
    args = test_tool.parse_args(
        ['seg.py', 'c.pth', '--out', 'masks', '--show-dir', 'vis'])
    cfg = test_tool.merge_args(_seg_cfg(), args)
    assert cfg.test_evaluator.output_dir == 'masks'
    assert cfg.test_evaluator.keep_results is True
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.visualizer.save_dir == 'vis'
    assert cfg.test_dataloader.collate_fn == dict(
        type='collate_with_size_check', collate_fn=dict(type='pseudo_collate'))

    args = test_tool.parse_args(['seg.py', 'c.pth', '--tta'])
    with pytest.raises(ValueError, match='tta_model'):
        test_tool.merge_args(_seg_cfg(), args)


def test_test_out_item_needs_out(test_tool):
    with pytest.raises(ValueError, match='--out'):
        test_tool.main(['cfg.py', 'c.pth', '--out-item', 'metrics'])
