"""frskd_mm.analysis.inputs: device, input size and the random batch."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from frskd_mm.analysis import infer_input_size, random_batch, resolve_device
from frskd_mm.apis import load_config
from frskd_mm.tasks import get_task

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WRN_FRSKD = osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py')
SEG_FRSKD = osp.join(ROOT, 'configs/frskd/efficientnet_b0_voc12aug_512x512.py')


def test_input_size_from_configs():
    assert infer_input_size(load_config(WRN_FRSKD)) == (32, 32)
    assert infer_input_size(load_config(SEG_FRSKD)) == (512, 512)


def _cls(pipeline, wrapped=False):
    dataset = dict(type='CustomDataset', pipeline=pipeline)
    if wrapped:
        dataset = dict(
            type='RepeatDataset',
            times=2,
            dataset=dict(type='ConcatDataset', datasets=[dataset]))
    return Config(
        dict(
            default_scope='mmpretrain',
            train_dataloader=dict(dataset=dataset)))


def test_input_size_from_the_training_pipeline():
    resized = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=224),
        dict(type='PackInputs')
    ]
    assert infer_input_size(_cls(resized)) == (224, 224)
    # Inside dataset wrappers; the last size-fixing transform wins.
    cropped = [
        dict(type='Resize', scale=(300, 400)),
        dict(type='CenterCrop', crop_size=(256, 192))
    ]
    assert infer_input_size(_cls(cropped, wrapped=True)) == (256, 192)
    # The task's own keys come first (MMSeg: data_preprocessor.size).
    seg = Config(
        dict(
            default_scope='mmseg',
            model=dict(data_preprocessor=dict(size=(64, 96))),
            train_pipeline=resized))
    assert infer_input_size(seg) == (64, 96)
    with pytest.raises(ValueError, match='--input-size'):
        infer_input_size(_cls([dict(type='PackInputs')]))


def test_random_batch_is_the_task_batch_of_the_seed():
    task = get_task(Config(dict(default_scope='mmpretrain')))
    a = random_batch(task, 3, (8, 6), 5, seed=1)
    b = random_batch(task, 3, (8, 6), 5, seed=1)
    assert a['inputs'].shape == (3, 3, 8, 6)
    assert a['inputs'].dtype == torch.uint8
    assert torch.equal(a['inputs'], b['inputs'])
    assert [int(s.gt_label) for s in a['data_samples']] == \
        [int(s.gt_label) for s in b['data_samples']]
    c = random_batch(task, 3, (8, 6), 5, seed=2)
    assert not torch.equal(a['inputs'], c['inputs'])


def test_resolve_device():
    assert resolve_device('cpu') == torch.device('cpu')
    assert resolve_device('auto').type == ('cuda' if torch.cuda.is_available()
                                           else 'cpu')
    with pytest.raises(ValueError, match='Unsupported device'):
        resolve_device('meta')
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='--device cpu'):
            resolve_device('cuda')
