"""frskd_mm.analysis.study_grid: cells, grids, subsets and run configs."""
import os
import os.path as osp

import pytest
from conftest import write_image_folder

from frskd_mm.analysis.study_grid import (Cell, as_folder_dataset, expand_grid,
                                          schedule_config, study_config,
                                          write_subset)

BASELINE = 'configs/demo/baseline_wrn16_2_digits.py'
FRSKD = 'configs/demo/frskd_wrn16_2_digits.py'
CIFAR_STABLE = 'configs/frskd_stable/wrn16_2_cifar100.py'


def _read_subset(path):
    with open(path) as f:
        return [line.split() for line in f.read().splitlines()]


def test_subset_is_stratified_seeded_and_skips_hidden_files(tmp_path):
    root = write_image_folder(
        tmp_path / 'data', splits=(('train', 10), ), num_classes=3)
    image_dir = osp.join(root, 'train')
    (tmp_path / 'data' / 'train' / '0' / '.hidden.png').write_bytes(b'')
    os.makedirs(tmp_path / 'data' / 'train' / '.ipynb_checkpoints')
    out = str(tmp_path / 'subset.txt')
    assert write_subset(image_dir, 0.3, seed=0, out_file=out) == 9
    lines = _read_subset(out)
    assert sorted({label for _, label in lines}) == ['0', '1', '2']
    for label in '012':
        files = [f for f, lab in lines if lab == label]
        assert len(files) == 3 and all(
            f.startswith(f'{label}/') for f in files)
    assert not any('.hidden' in f for f, _ in lines)
    again = str(tmp_path / 'again.txt')
    write_subset(image_dir, 0.3, seed=0, out_file=again)
    assert _read_subset(again) == lines
    other = str(tmp_path / 'other.txt')
    write_subset(image_dir, 0.3, seed=1, out_file=other)
    assert _read_subset(other) != lines
    # Every class keeps at least one image; the whole set is the whole set.
    assert write_subset(image_dir, 0.01, 0, out) == 3
    assert write_subset(image_dir, 1.0, 0, out) == 30
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        write_subset(image_dir, 0.0, 0, out)
    # Counts per class: capped at what a class has; 'all' keeps all.
    assert write_subset(image_dir, seed=0, out_file=out, per_class=4) == 12
    assert write_subset(image_dir, seed=0, out_file=out, per_class=50) == 30
    assert write_subset(image_dir, seed=0, out_file=out, per_class='all') == 30
    with pytest.raises(ValueError, match='fraction or per_class'):
        write_subset(image_dir, 0.5, 0, out, per_class=3)


def test_study_config_stretches_the_schedule_and_validates_once(tmp_path):
    ann = str(tmp_path / 'subset.txt')
    cfg = study_config(BASELINE, ann_file=ann, epochs=3, seed=7)
    assert cfg.train_cfg.max_epochs == 3 and cfg.train_cfg.val_interval == 3
    assert cfg.param_scheduler.T_max == 3
    assert cfg.train_dataloader.dataset.ann_file == osp.abspath(ann)
    assert cfg.train_dataloader.dataset.data_prefix == osp.abspath(
        'data/digits/train')
    assert cfg.randomness == dict(seed=7)
    assert cfg.default_hooks.checkpoint.interval == 3
    assert 'save_best' not in cfg.default_hooks.checkpoint
    assert 'eval_teacher' not in cfg.model.neck

    cfg = study_config(
        FRSKD,
        ann_file=ann,
        epochs=5,
        seed=0,
        curves=True,
        data_root='/elsewhere')
    assert cfg.train_cfg.val_interval == 1
    assert cfg.model.neck.eval_teacher is True
    assert [e['type']
            for e in cfg.val_evaluator] == ['Accuracy', 'TeacherAccuracy']
    assert cfg.val_dataloader.dataset.data_root == '/elsewhere'
    assert cfg.train_dataloader.dataset.data_prefix == '/elsewhere/train'


def test_iteration_based_configs_are_refused():
    with pytest.raises(ValueError, match='epoch-based'):
        study_config(
            'configs/demo/baseline_seg_digits.py',
            ann_file='x.txt',
            epochs=2,
            seed=0)


def test_a_cell_sets_batch_lr_schedule_and_workers(tmp_path):
    cell = Cell(epochs=30, batch=32, lr=0.05, schedule='step')
    cfg = study_config(
        FRSKD, ann_file='a.txt', epochs=30, seed=0, cell=cell, workers=0)
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.optim_wrapper.optimizer.lr == 0.05
    assert cfg.param_scheduler == [
        dict(
            type='MultiStepLR', by_epoch=True, milestones=[15, 22], gamma=0.1)
    ]
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert loader.num_workers == 0 and not loader.persistent_workers
    assert schedule_config('constant', 10) == []
    [cosine] = schedule_config('cosine', 10)
    assert cosine['T_max'] == 10 and cosine['convert_to_iter_based']
    with pytest.raises(ValueError, match='schedule'):
        Cell(epochs=3, schedule='poly')


def test_a_cifar_config_runs_on_an_image_folder(tmp_path):
    """As a user runs a CIFAR config on their own folder: CustomDataset on
    train/ and test/ with the config's own augmentation after loading, and
    the folder's number of classes everywhere."""
    root = write_image_folder(
        tmp_path / 'data', splits=(('train', 2), ('test', 1)), num_classes=7)
    cfg = study_config(
        CIFAR_STABLE, ann_file='a.txt', epochs=4, seed=0, data_root=root)
    train = cfg.train_dataloader.dataset
    assert train.type == 'CustomDataset'
    assert train.data_prefix == osp.join(root, 'train')
    steps = [t['type'] for t in train.pipeline]
    assert steps == [
        'LoadImageFromFile', 'RandomCrop', 'RandomFlip', 'PackInputs'
    ]
    assert cfg.test_dataloader.dataset.data_prefix == 'test'
    assert cfg.test_dataloader.dataset.data_root == root
    assert cfg.model.head.num_classes == cfg.model.neck.num_classes == 7
    assert cfg.param_scheduler.milestones == [2, 3]  # 100/150 of 200
    # Accuracy's top-k cannot exceed the classes.
    cfg.val_evaluator = dict(type='Accuracy', topk=(1, 5))
    as_folder_dataset(cfg, root)
    assert cfg.val_evaluator.topk == (1, 5)
    as_folder_dataset(cfg,
                      write_image_folder(tmp_path / 'four', num_classes=4))
    assert cfg.val_evaluator.topk == (1, )
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline
            ].count('LoadImageFromFile') == 1


def test_grid_is_the_centre_one_factor_at_a_time_and_corners():
    spec = dict(
        datasets=dict(digits='data/digits', mnist='data/mnist5k'),
        centre=dict(
            dataset='digits',
            per_class=45,
            epochs=30,
            batch=64,
            lr=0.1,
            schedule='step'),
        vary=dict(schedule=['cosine', 'constant'], dataset=['mnist']),
        corners=[dict(schedule='constant', per_class=30)])
    cells = expand_grid(spec)
    assert [label for label, _ in cells] == [
        'centre', 'schedule=cosine', 'schedule=constant', 'dataset=mnist',
        'corner 1'
    ]
    centre = cells[0][1]
    assert centre.name == 'digits_45pc_30ep_bs64_lr0.1_step'
    assert cells[3][1].dataset == 'mnist' and cells[3][1].epochs == 30
    assert cells[4][1].per_class == 30 and cells[4][1].schedule == 'constant'
    assert cells[1][1].subset_key == centre.subset_key
    assert cells[3][1].subset_key != centre.subset_key
    with pytest.raises(ValueError, match='Unknown grid factors'):
        expand_grid(dict(centre=dict(epochs=3), vary=dict(momentum=[0.5])))
    with pytest.raises(ValueError, match='repeats'):
        expand_grid(dict(centre=dict(epochs=3), vary=dict(epochs=[3])))
    with pytest.raises(ValueError, match='does not name'):
        expand_grid(dict(centre=dict(epochs=3, dataset='cifar')))
