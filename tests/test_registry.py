"""frskd_mm in MMPretrain's and MMSegmentation's registries."""
import os
import subprocess
import sys
import textwrap

import pytest
from mmpretrain.registry import HOOKS as CLS_HOOKS
from mmpretrain.registry import MODELS as CLS_MODELS
from mmseg.registry import HOOKS as SEG_HOOKS
from mmseg.registry import MODELS as SEG_MODELS

import frskd_mm
from frskd_mm import registry
from frskd_mm.engine.hooks import FRSKDHook
from frskd_mm.models.heads import FRSKDSegHead
from frskd_mm.models.losses import AttentionTransferLoss, FitNetLoss
from frskd_mm.models.necks import FRSKDNeck

SHARED_MODELS = (FRSKDNeck, AttentionTransferLoss, FitNetLoss)


def test_import_registers_the_shared_modules_in_both_registries():
    for cls in SHARED_MODELS:
        assert CLS_MODELS.module_dict[cls.__name__] is cls
        assert SEG_MODELS.module_dict[cls.__name__] is cls
    assert CLS_HOOKS.module_dict['FRSKDHook'] is FRSKDHook
    assert SEG_HOOKS.module_dict['FRSKDHook'] is FRSKDHook
    # The heads live in their own task's registry only.
    assert SEG_MODELS.module_dict['FRSKDSegHead'] is FRSKDSegHead
    assert 'FRSKDSegHead' not in CLS_MODELS.module_dict
    assert 'FRSKDClsHead' not in SEG_MODELS.module_dict


def test_register_mmseg_modules_is_idempotent():
    before = dict(SEG_MODELS.module_dict), dict(SEG_HOOKS.module_dict)
    frskd_mm.register_mmseg_modules()
    frskd_mm.register_mmseg_modules()
    assert (dict(SEG_MODELS.module_dict), dict(SEG_HOOKS.module_dict)) == \
        before


def test_a_different_module_under_our_name_is_reported(monkeypatch):
    class FRSKDNeck:  # noqa: N801 - an unrelated class with the same name
        pass

    monkeypatch.setitem(SEG_MODELS._module_dict, 'FRSKDNeck', FRSKDNeck)
    with pytest.raises(KeyError, match='already has a different FRSKDNeck'):
        frskd_mm.register_mmseg_modules()


def _fresh_check(monkeypatch, error):
    """Re-run mmseg_available() with ``import mmseg.registry`` failing."""
    monkeypatch.setattr(registry, '_mmseg_checked', False)
    monkeypatch.setattr(registry, '_mmseg_error', None)

    def fail():
        raise error

    monkeypatch.setattr(registry, '_import_mmseg_registry', fail)


def test_missing_mmseg_is_silent_and_explained_on_request(monkeypatch,
                                                          recwarn):
    _fresh_check(monkeypatch, ModuleNotFoundError("No module named 'mmseg'",
                                                  name='mmseg'))
    assert registry.mmseg_available() is False
    assert not [w for w in recwarn if 'MMSegmentation' in str(w.message)]
    with pytest.raises(ImportError, match=r'pip install -e "\.\[seg\]"'):
        registry.register_mmseg_modules()


def test_broken_mmseg_warns_instead_of_breaking_import(monkeypatch):
    _fresh_check(monkeypatch, AssertionError('MMCV==9.9 is incompatible'))
    with pytest.warns(UserWarning, match='MMCV==9.9 is incompatible'):
        assert registry.mmseg_available() is False
    with pytest.raises(ImportError, match='AssertionError'):
        registry.register_mmseg_modules()


def test_import_frskd_mm_without_mmseg():
    """A classification-only install: ``import frskd_mm`` still works."""
    code = textwrap.dedent("""
        import sys, warnings
        sys.modules['mmseg'] = None  # as if not installed
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            import frskd_mm
        assert not [w for w in caught if 'MMSegmentation' in str(w.message)]
        from frskd_mm.models import heads
        from mmpretrain.registry import MODELS, HOOKS
        assert not frskd_mm.mmseg_available()
        assert 'FRSKDSegHead' not in heads.__all__
        assert not hasattr(heads, 'FRSKDSegHead')
        assert {'FRSKDNeck', 'FRSKDClsHead'} <= set(MODELS.module_dict)
        assert 'FRSKDHook' in HOOKS.module_dict
        try:
            frskd_mm.register_mmseg_modules()
        except ImportError as e:
            print('ImportError:', e)
        """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, '-c', code], cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'ImportError: Cannot register frskd_mm in MMSegmentation' in \
        result.stdout
