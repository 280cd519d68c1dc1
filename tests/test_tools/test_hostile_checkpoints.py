"""Every tool that loads a checkpoint refuses the crafted ones, and no code
in them runs (train --resume, train load_from, test, export, attention)."""
import os.path as osp

import pytest
from conftest import load_tool
from hostile_checkpoints import write_hostile_checkpoints
from PIL import Image
from tool_runs import tiny_options

from frskd_mm.utils import UnsafeCheckpointError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py')
REFUSED = (UnsafeCheckpointError, RuntimeError)
MESSAGE = r'Refusing to load .*\.pth|Cannot read the checkpoint'


@pytest.fixture(scope='module')
def tools():
    return dict(
        train=load_tool('tools/train.py'),
        test=load_tool('tools/test.py'),
        export=load_tool('tools/export_student.py'),
        attention=load_tool('tools/analysis_tools/visualize_attention.py'))


@pytest.fixture(scope='module')
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp('hostile')
    marker = folder / 'code_ran'
    return marker, write_hostile_checkpoints(str(folder), str(marker))


@pytest.fixture(autouse=True)
def keep_local_rank(monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')  # the tools export it


@pytest.mark.parametrize('kind', [
    'getattr_chain', 'os_system', 'allowed_global_chain', 'allowed_method_call'
])
def test_each_tool_refuses_it(kind, tools, hostile, cifar100_root, tmp_path):
    marker, paths = hostile
    path = paths[kind]
    opts = tiny_options(cifar100_root)
    image = str(tmp_path / 'img.png')
    Image.new('RGB', (32, 32)).save(image)
    calls = {
        'train --resume':
        lambda: tools['train'].main([
            CONFIG, '--work-dir',
            str(tmp_path / 'r'), '--resume', path, '--cfg-options', *opts
        ]),
        'train load_from':
        lambda: tools['train'].main([
            CONFIG, '--work-dir',
            str(tmp_path / 'l'), '--cfg-options', *opts, f'load_from={path}'
        ]),
        'test':
        lambda: tools['test'].main([
            CONFIG, path, '--work-dir',
            str(tmp_path / 't'), '--cfg-options', *opts
        ]),
        'export':
        lambda: tools['export'].main(
            [CONFIG, path, '--out-dir',
             str(tmp_path / 'e')]),
        'attention':
        lambda: tools['attention'].main(
            [CONFIG, path, image, '--out',
             str(tmp_path / 'a.png')]),
    }
    for tool, call in calls.items():
        with pytest.raises(REFUSED, match=MESSAGE):
            call()
        assert not marker.exists(), tool
    assert not osp.exists(tmp_path / 'e')  # nothing exported
