"""Every tool that loads a checkpoint refuses the crafted ones, and no code
in them runs (train --resume, train load_from, test, export, attention)."""
import importlib.util
import os.path as osp

import pytest
from hostile_checkpoints import write_hostile_checkpoints
from PIL import Image

from frskd_mm.utils import UnsafeCheckpointError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py')
REFUSED = (UnsafeCheckpointError, RuntimeError)
MESSAGE = r'Refusing to load .*\.pth|Cannot read the checkpoint'


def _tool(path):
    spec = importlib.util.spec_from_file_location(
        'frskd_tool_' + osp.basename(path)[:-3], osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tools():
    return dict(train=_tool('tools/train.py'), test=_tool('tools/test.py'),
                export=_tool('tools/export_student.py'),
                attention=_tool('tools/analysis/visualize_attention.py'))


@pytest.fixture(scope='module')
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp('hostile')
    marker = folder / 'code_ran'
    return marker, write_hostile_checkpoints(str(folder), str(marker))


def _options(data_root):
    opts = ['train_cfg.max_epochs=1', 'randomness.seed=0']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}',
                 f'{split}_dataloader.batch_size=8',
                 f'{split}_dataloader.num_workers=0']
    return opts


@pytest.fixture(autouse=True)
def keep_local_rank(monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')  # the tools export it


@pytest.mark.parametrize('kind', ['getattr_chain', 'os_system',
                                  'allowed_global_chain',
                                  'allowed_method_call'])
def test_each_tool_refuses_it(kind, tools, hostile, cifar100_root,
                              tmp_path):
    marker, paths = hostile
    path = paths[kind]
    opts = _options(cifar100_root)
    image = str(tmp_path / 'img.png')
    Image.new('RGB', (32, 32)).save(image)
    calls = {
        'train --resume': lambda: tools['train'].main(
            [CONFIG, '--work-dir', str(tmp_path / 'r'), '--resume', path,
             '--cfg-options', *opts]),
        'train load_from': lambda: tools['train'].main(
            [CONFIG, '--work-dir', str(tmp_path / 'l'), '--cfg-options',
             *opts, f'load_from={path}']),
        'test': lambda: tools['test'].main(
            [CONFIG, path, '--work-dir', str(tmp_path / 't'),
             '--cfg-options', *opts]),
        'export': lambda: tools['export'].main(
            [CONFIG, path, '--out-dir', str(tmp_path / 'e')]),
        'attention': lambda: tools['attention'].main(
            [CONFIG, path, image, '--out', str(tmp_path / 'a.png')]),
    }
    for tool, call in calls.items():
        with pytest.raises(REFUSED, match=MESSAGE):
            call()
        assert not marker.exists(), tool
    assert not osp.exists(tmp_path / 'e')  # nothing exported
