"""configs/frskd_stable: the paper's FRSKD configs plus our stable recipe.

Each one must be its configs/frskd twin with only the FRSKDHook changed,
to the one of configs/_base_/frskd_stable_recipe.py, so the paper's configs
keep the paper's maths and the recipe stays one visible change; and the
recipe must reach the model when trained.
"""
import glob
import os.path as osp
import types

import pytest
from config_files import CONFIG_DIR, config_id, load, stable_recipe_hook

from frskd_mm.engine.hooks import FRSKDHook

STABLE = sorted(glob.glob(osp.join(CONFIG_DIR, 'frskd_stable', '*.py')))
DEMO_STABLE = sorted(
    glob.glob(osp.join(CONFIG_DIR, 'demo', 'frskd_stable_*.py')))
RECIPE = stable_recipe_hook()


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
    assert hooks == [RECIPE] == [stable.pop('stable_frskd_hook')]
    assert [h['type'] for h in paper.pop('custom_hooks')] == ['FRSKDHook']
    assert stable == paper


def test_the_recipe_reaches_the_model(build_frskd, monkeypatch):
    """Built as the Runner builds custom hooks: nothing of the self-teacher
    reaches the student (alpha, beta and the teacher's gradient into the
    backbone at 0) until the self-teacher's loss is below the student's;
    then the three grow linearly over the training left, times the
    balance factor; alpha and beta are the paper's."""
    import frskd_mm.engine.hooks.frskd_hook as frskd_hook
    hook = FRSKDHook(**{k: v for k, v in RECIPE.items() if k != 'type'})
    model = build_frskd()
    runner = types.SimpleNamespace(
        model=model,
        iter=0,
        max_iters=200,
        epoch=0,
        train_dataloader=[None],
        message_hub=types.SimpleNamespace(update_scalar=lambda *a: None))
    # The student's own gradient 1, the self-teacher's terms 0.5 in all:
    # within the bound, so the balance factor is 1 here.
    monkeypatch.setattr(frskd_hook, 'source_gradients', lambda *a: None)
    monkeypatch.setattr(
        frskd_hook, 'balance_stats',
        lambda g: dict(student=1.0, gram=[[0.25, 0, 0], [0, 0, 0], [0, 0, 0]]))
    hook.before_train(runner)
    scales, factors = [], []
    for it in range(200):
        runner.iter = it
        hook.before_train_iter(runner, batch_idx=0, data_batch={})
        scales.append(model.head.distill.scale)
        factors.append(model.neck.grad_factor)
        teacher = 2.5 if it < 50 else 1.0  # ahead from iteration 50 on
        hook.after_train_iter(
            runner, 0, outputs=dict(loss_cls=2.0, loss_teacher=teacher))
    start = hook.gate.opened_at
    assert 50 < start <= 60  # once the moving averages have crossed
    assert scales[:start + 1] == [0.0] * (start + 1)
    assert factors == scales
    assert scales[130] == pytest.approx((130 - start) / (200 - start))
    assert (model.head.distill.alpha, model.head.distill.beta) == (2.0, 100.0)
