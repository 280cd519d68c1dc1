"""frskd_mm's registries: one registration, found from both tasks."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch.nn as nn
from mmengine.registry import FUNCTIONS as ROOT_FUNCTIONS
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS as CLS_DATASETS
from mmpretrain.registry import HOOKS as CLS_HOOKS
from mmpretrain.registry import METRICS as CLS_METRICS
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.registry import TRANSFORMS as CLS_TRANSFORMS
from mmseg.registry import DATASETS as SEG_DATASETS
from mmseg.registry import HOOKS as SEG_HOOKS
from mmseg.registry import METRICS as SEG_METRICS
from mmseg.registry import MODELS as SEG_MODELS
from mmseg.registry import TRANSFORMS as SEG_TRANSFORMS

import frskd_mm  # noqa: F401
from frskd_mm import registry
from frskd_mm.engine.hooks import FRSKDHook
from frskd_mm.models.heads import FRSKDClsHead, FRSKDSegHead
from frskd_mm.models.losses import AttentionTransferLoss, FitNetLoss
from frskd_mm.models.necks import FRSKDNeck


@pytest.mark.parametrize('ours, theirs', [
    (registry.MODELS, (CLS_MODELS, SEG_MODELS)),
    (registry.HOOKS, (CLS_HOOKS, SEG_HOOKS)),
    (registry.DATASETS, (CLS_DATASETS, SEG_DATASETS)),
    (registry.METRICS, (CLS_METRICS, SEG_METRICS)),
    (registry.TRANSFORMS, (CLS_TRANSFORMS, SEG_TRANSFORMS)),
])
def test_every_module_is_in_both_task_registries(ours, theirs):
    assert ours.module_dict  # the kind has modules
    for name, module in ours.module_dict.items():
        for registry_ in theirs:
            assert registry_.module_dict[name] is module, (name, registry_)


def test_known_modules_are_where_configs_look_for_them():
    for cls in (FRSKDNeck, FRSKDClsHead, FRSKDSegHead, AttentionTransferLoss,
                FitNetLoss):
        assert CLS_MODELS.get(cls.__name__) is cls
        assert SEG_MODELS.get(cls.__name__) is cls
    assert CLS_HOOKS.get('FRSKDHook') is FRSKDHook
    assert SEG_HOOKS.get('FRSKDHook') is FRSKDHook
    # The Runner looks collate functions up in MMEngine's root registry.
    assert ROOT_FUNCTIONS.get('collate_with_size_check') is \
        registry.FUNCTIONS.get('collate_with_size_check')
    # The frskd_mm scope prefix works from any scope.
    assert CLS_MODELS.get('frskd_mm.FRSKDNeck') is FRSKDNeck


def test_a_new_module_is_one_decorator(monkeypatch):
    """What a newcomer writes: one decorator, built from both scopes."""
    for r in (registry.MODELS, CLS_MODELS, SEG_MODELS):
        monkeypatch.setattr(r, '_module_dict', dict(r._module_dict))

    @registry.MODELS.register_module()
    class MyFeatureLoss(nn.Module):

        def __init__(self, p: int = 2) -> None:
            super().__init__()
            self.p = p

    for scope, upstream in (('mmpretrain', CLS_MODELS), ('mmseg', SEG_MODELS)):
        with DefaultScope.overwrite_default_scope(scope):
            built = upstream.build(dict(type='MyFeatureLoss', p=3))
        assert isinstance(built, MyFeatureLoss) and built.p == 3
    # The head builds its feature term through the same registry.
    head = FRSKDClsHead(
        num_classes=3, in_channels=8, feature_loss=dict(type='MyFeatureLoss'))
    assert isinstance(head.distill.feature_loss, MyFeatureLoss)


def test_a_different_module_under_our_name_is_reported(monkeypatch):
    for r in (registry.MODELS, CLS_MODELS, SEG_MODELS):
        monkeypatch.setattr(r, '_module_dict', dict(r._module_dict))

    class Clash(nn.Module):
        pass

    SEG_MODELS.register_module(name='ClashingName', module=Clash)

    class Ours(nn.Module):
        pass

    with pytest.raises(
            KeyError, match='already has a different '
            'ClashingName'):
        registry.MODELS.register_module(name='ClashingName', module=Ours)


def test_registering_the_same_module_again_is_harmless(monkeypatch):
    for r in (registry.MODELS, CLS_MODELS, SEG_MODELS):
        monkeypatch.setattr(r, '_module_dict', dict(r._module_dict))
    registry.MODELS.register_module(
        name='FRSKDNeck', module=FRSKDNeck, force=True)
    assert SEG_MODELS.get('FRSKDNeck') is FRSKDNeck


def test_import_frskd_mm_without_mmseg():
    """A classification-only install: ``import frskd_mm`` still works, with
    no warning, and registers in MMPretrain only."""
    code = textwrap.dedent("""
        import sys, warnings
        sys.modules['mmseg'] = None  # as if not installed
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            import frskd_mm
        assert not [w for w in caught if 'mmseg' in str(w.message)]
        from frskd_mm.models import heads
        from frskd_mm.utils.packages import package_available, package_error
        from mmpretrain.registry import MODELS, HOOKS
        assert not package_available('mmseg')
        assert 'FRSKDSegHead' not in heads.__all__
        assert not hasattr(heads, 'FRSKDSegHead')
        assert {'FRSKDNeck', 'FRSKDClsHead'} <= set(MODELS.module_dict)
        assert 'FRSKDHook' in HOOKS.module_dict
        print('why:', package_error('mmseg'))
        """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, '-c', code],
                            cwd=root,
                            capture_output=True,
                            text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'why: mmseg is not installed' in result.stdout
    assert 'mmsegmentation>=1.0.0' in result.stdout
