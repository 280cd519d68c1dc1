"""The detection configs: every baseline of configs/baseline/ is
MMDetection's config unchanged (frskd_mm imported), and every FRSKD config
is its baseline plus the self-teacher around the baseline's FPN, the FRSKD
head around the baseline's head and FRSKDHook. (Each FRSKD config trains
through tools/train.py in tests/test_tools/test_train_det.py; every config
deploys at its baseline's cost in test_deployed_cost.py.)"""
import glob
import os.path as osp

import mmdet
import pytest
from config_files import (CONFIG_DIR, cached_config, config_id, load, mentions,
                          stable_recipe_hook)
from mmengine.config import Config

#: Our baseline -> the MMDetection 3.3.0 config it is.
MMDET_CONFIGS = {
    'retinanet_r50_fpn_1x_coco': 'retinanet/retinanet_r50_fpn_1x_coco.py',
    'fcos_r50-caffe_fpn_gn-head_1x_coco':
    'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'retinanet_r50_fpn_1x_voc0712':
    'pascal_voc/retinanet_r50_fpn_1x_voc0712.py',
}
FRSKD_KEYS = ('neck', 'bbox_head')
HOOK = dict(
    type='FRSKDHook',
    by_ratio=True,
    warmup=2 / 3,
    ramp=1 / 3,
    ramp_type='sigmoid')


def _detection(folder, pattern='*.py'):
    """The configs in ``folder`` whose ``default_scope`` is ``mmdet`` (only
    those that mention mmdet are loaded)."""
    return [
        p for p in sorted(glob.glob(osp.join(CONFIG_DIR, folder, pattern)))
        if mentions(p, 'mmdet')
        and cached_config(p).get('default_scope') == 'mmdet'
    ]


FRSKD = _detection('frskd') + _detection('demo', 'frskd*_det_*.py')


def _unscoped(node):
    """``node`` without the ``_scope_`` keys that inheriting from another
    package's config adds."""
    if isinstance(node, dict):
        return {k: _unscoped(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(_unscoped(v) for v in node)
    return node


def _twin(path):
    folder, name = osp.split(path)
    if osp.basename(folder) == 'demo':
        return osp.join(
            folder, 'baseline_' +
            name.replace('frskd_stable_', '').replace('frskd_', '', 1))
    return osp.join(CONFIG_DIR, 'baseline', name)


def test_the_configs_exist_in_twins():
    names = {osp.basename(p)[:-3] for p in _detection('baseline')}
    assert names == set(MMDET_CONFIGS)
    assert {osp.basename(p)[:-3] for p in _detection('frskd')} == names
    assert len(FRSKD) == 5 and all(osp.isfile(_twin(p)) for p in FRSKD)


@pytest.mark.parametrize('name', sorted(MMDET_CONFIGS))
def test_baseline_is_mmdetections_config(name):
    ours = load(osp.join(CONFIG_DIR, 'baseline', f'{name}.py')).to_dict()
    assert ours.pop('custom_imports') == dict(
        imports=['frskd_mm'], allow_failed_imports=False)
    path = osp.join(
        osp.dirname(mmdet.__file__), '.mim', 'configs', MMDET_CONFIGS[name])
    assert _unscoped(ours) == Config.fromfile(path).to_dict()


@pytest.mark.parametrize('path', FRSKD, ids=config_id)
def test_frskd_config_is_its_baseline_plus_frskd(path):
    frskd = load(path).to_dict()
    base = load(_twin(path)).to_dict()
    neck, head = (frskd['model'].pop(k) for k in FRSKD_KEYS)
    assert neck['type'] == 'FRSKDNeck'
    assert neck['neck'] == base['model']['neck']
    assert neck['width'] == 1 and neck['num_layers'] == 2
    assert neck['layer_cfg'] == dict(type='SegBiFPNLayer')
    assert not neck.get('last_layer_top_down_only', False)
    fpn = base['model']['neck']
    assert neck['in_channels'] == [fpn['out_channels']] * fpn['num_outs']
    assert head['type'] == 'FRSKDDenseHead'
    assert head['student'] == base['model']['bbox_head']
    assert (head['alpha'], head['beta'], head['temperature']) == (1.0, 50.0,
                                                                  1.0)
    hooks = frskd.pop('custom_hooks')
    expected = HOOK if 'stable' not in path else stable_recipe_hook()
    assert [h for h in hooks if h['type'] == 'FRSKDHook'] == [expected]
    frskd.pop('stable_frskd_hook', None)  # the recipe's own variable
    frskd.pop('norm_cfg', None)
    for key in FRSKD_KEYS:
        base['model'].pop(key)
    base.pop('custom_hooks', None)
    assert frskd == base
