"""frskd_mm.utils.get_task / setup_task: the task comes from default_scope."""
import sys
import types

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from frskd_mm.utils import TASKS, get_task, setup_task


@pytest.mark.parametrize('scope,task', [('mmpretrain', 'classification'),
                                        ('mmseg', 'segmentation')])
def test_get_task(scope, task):
    assert get_task(Config(dict(default_scope=scope))) == task
    assert TASKS[scope] == task


def test_missing_default_scope_is_an_error():
    with pytest.raises(ValueError, match='default_scope'):
        get_task(Config(dict(model=dict(type='ImageClassifier'))))


def test_unknown_default_scope_is_an_error():
    with pytest.raises(ValueError, match="'mmdet'.*mmpretrain"):
        get_task(Config(dict(default_scope='mmdet')))


def _fake_utils(calls):
    module = types.ModuleType('fake_utils')

    def register_all_modules(init_default_scope=True):
        calls.append(init_default_scope)

    module.register_all_modules = register_all_modules
    return module


@pytest.mark.parametrize('scope,task', [('mmpretrain', 'classification'),
                                        ('mmseg', 'segmentation')])
def test_setup_task_registers_the_task_package(scope, task, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, f'{scope}.utils', _fake_utils(calls))
    assert setup_task(Config(dict(default_scope=scope))) == task
    assert calls == [False]  # never changes the default scope


def test_setup_task_mmpretrain_for_real():
    from mmpretrain.registry import MODELS
    scope_before = DefaultScope.get_current_instance()
    assert setup_task(Config(dict(default_scope='mmpretrain'))) == \
        'classification'
    assert MODELS.get('ImageClassifier') is not None
    assert DefaultScope.get_current_instance() is scope_before


def test_setup_task_missing_package_says_what_to_install(monkeypatch):
    # A None entry in sys.modules makes the import fail.
    monkeypatch.setitem(sys.modules, 'mmseg.utils', None)
    with pytest.raises(ImportError, match='mmsegmentation'):
        setup_task(Config(dict(default_scope='mmseg')))
