"""Every FRSKD config deploys at its baseline's cost.

For each FRSKD config under configs/ (found with glob: paper, stable and
demo configs, classification, segmentation and detection; configs that
share their model with another, e.g. frskd_stable/*, are traced once) the
FRSKD model in eval mode and its baseline twin are built without weights
and traced on one small image (64x64 for segmentation, else 32x32; the
size only keeps the test fast): both have the same forward FLOPs, and the
parameters that the export keeps are the baseline's in number. That
the exported student computes what the FRSKD model computes in eval mode
is tested with the export (tests/test_tools/test_export_student.py).
"""
import glob
import os.path as osp

import pytest
import torch
from config_files import CONFIG_DIR, cached_config, config_id, load
from mmengine.registry import init_default_scope

from frskd_mm.analysis.cost import count_flops
from frskd_mm.apis import init_model
from frskd_mm.tasks import get_task


def _frskd_configs():
    found = []
    for path in sorted(glob.glob(osp.join(CONFIG_DIR, '*', '*.py'))):
        folder, name = osp.split(path)
        folder = osp.basename(folder)
        if folder in ('frskd', 'frskd_stable') or (folder == 'demo' and
                                                   name.startswith('frskd_')):
            found.append(path)
    return found


def twin_of(path: str) -> str:
    """The baseline config of an FRSKD config."""
    folder, name = osp.split(path)
    if osp.basename(folder) == 'demo':
        name = 'baseline_' + name.replace('frskd_stable_', '').replace(
            'frskd_', '', 1)
        return osp.join(folder, name)
    return osp.join(CONFIG_DIR, 'baseline', name)


FRSKD_CONFIGS = _frskd_configs()


def _one_per_model(paths):
    """The first config of each distinct model (and baseline) config."""
    seen, found = set(), []
    for path in paths:
        key = repr(
            (cached_config(path).model, cached_config(twin_of(path)).model))
        if key not in seen:
            seen.add(key)
            found.append(path)
    return found


def test_every_frskd_config_has_a_baseline_twin():
    assert len(FRSKD_CONFIGS) >= 30
    for path in FRSKD_CONFIGS:
        assert osp.isfile(twin_of(path)), config_id(path)


def _cost(cfg, size):
    """FLOPs of one image, all parameters, and the parameters that the
    export keeps (the task's student state dict)."""
    try:
        model = init_model(cfg, seed=0).eval()
    finally:
        init_default_scope('mmpretrain')  # as conftest left it
    x = torch.randn(1, 3, size, size)
    params = dict(model.named_parameters())
    task = get_task(cfg)
    # A config that trains training-only parts (FRSKD, SLA-SD) deploys the
    # student; others deploy as they are.
    deployed = task.student_state_dict(params) \
        if task.is_exportable_config(cfg) else params
    with torch.no_grad():
        return (count_flops(model, (x, ))['total'],
                sum(p.numel() for p in params.values()),
                sum(p.numel() for p in deployed.values()))


@pytest.mark.parametrize('path', _one_per_model(FRSKD_CONFIGS), ids=config_id)
def test_deployed_flops_equal_the_baselines(path):
    cfg = load(path)
    size = 64 if get_task(cfg).name == 'segmentation' else 32
    frskd_flops, frskd_params, deployed_params = _cost(cfg, size)
    base_flops, base_params, base_deployed = _cost(load(twin_of(path)), size)
    assert frskd_flops == base_flops > 0
    assert frskd_params > base_params
    assert deployed_params == base_deployed


SLA_SD = sorted(glob.glob(osp.join(CONFIG_DIR, 'baseline', '*_sla.py')))


@pytest.mark.parametrize('path', SLA_SD, ids=config_id)
def test_sla_sd_deploys_at_the_plain_baselines_cost(path):
    """The SLA-SD twin of an FRSKD + SLA config deploys as its plain
    baseline too: same FLOPs, and its only extra parameters are the joint
    classifier's, 4 C x (in_channels + 1)."""
    cfg = load(path)
    sla_flops, sla_params, _ = _cost(cfg, 32)
    plain_flops, plain_params, _ = _cost(
        load(path[:-len('_sla.py')] + '.py'), 32)
    assert sla_flops == plain_flops > 0
    head = cfg.model.head
    assert sla_params - plain_params == \
        4 * head.num_classes * (head.in_channels + 1)
