"""configs/frskd_stable: the paper's FRSKD configs plus our stable recipe.

Each one must be its configs/frskd twin with only the FRSKDHook schedule
changed (the distillation ramped linearly over the whole training), so the
paper's configs keep the paper's maths and the recipe stays one visible
change; and the recipe must reach the model when trained.
"""
import glob
import os.path as osp
import types

import pytest
from config_files import CONFIG_DIR, config_id, load

from frskd_mm.engine.hooks import FRSKDHook

STABLE = sorted(glob.glob(osp.join(CONFIG_DIR, 'frskd_stable', '*.py')))
DEMO_STABLE = sorted(
    glob.glob(osp.join(CONFIG_DIR, 'demo', 'frskd_stable_*.py')))
RECIPE = dict(type='FRSKDHook', by_ratio=True, warmup=0.0, ramp=1.0)


def _paper_twin(path):
    name = osp.basename(path)
    if path in DEMO_STABLE:
        return osp.join(CONFIG_DIR, 'demo',
                        name.replace('frskd_stable_', 'frskd_'))
    return osp.join(CONFIG_DIR, 'frskd', name)


def test_stable_configs_exist_for_the_small_data_sets():
    names = {osp.basename(p)[:-3] for p in STABLE}
    assert {
        'wrn16_2_cifar100', 'resnet18_cifar100', 'resnet18_cub200',
        'resnet18_dogs', 'resnet18_mit67', 'resnet18_stanford40'
    } <= names
    assert DEMO_STABLE


@pytest.mark.parametrize('path', STABLE + DEMO_STABLE, ids=config_id)
def test_stable_config_is_its_paper_twin_plus_the_ramp(path):
    stable = load(path).to_dict()
    paper = load(_paper_twin(path)).to_dict()
    hooks = [h for h in stable.pop('custom_hooks') if h['type'] == 'FRSKDHook']
    assert hooks == [RECIPE]
    assert [h['type'] for h in paper.pop('custom_hooks')] == ['FRSKDHook']
    assert stable == paper


def test_the_ramp_reaches_the_distillation_weight(build_frskd):
    """Built as the Runner builds custom hooks: 0 at the first iteration,
    half way at half of training, alpha and beta unchanged."""
    hook = FRSKDHook(**{k: v for k, v in RECIPE.items() if k != 'type'})
    model = build_frskd()
    runner = types.SimpleNamespace(
        model=model, iter=0, max_iters=200, epoch=0, train_dataloader=[None])
    hook.before_train(runner)
    for it, scale in ((0, 0.0), (100, 0.5), (199, 0.995)):
        runner.iter = it
        hook.before_train_iter(runner, batch_idx=0)
        assert model.head.distill.scale == pytest.approx(scale)
    assert (model.head.distill.alpha, model.head.distill.beta) == (2.0, 100.0)
