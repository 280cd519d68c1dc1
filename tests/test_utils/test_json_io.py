"""write_json: the tools' one JSON result writer, whole or not at all, and
loadable from its file (as tools/gpu_check.py loads it)."""
import json
import os

import pytest
from conftest import load_tool

from frskd_mm.utils.json_io import write_json


def test_writes_indented_json_and_creates_the_folder(tmp_path):
    path = tmp_path / 'sub' / 'result.json'
    assert write_json(str(path), dict(a=[1, 2.5], b=None)) == str(path)
    assert json.loads(path.read_text()) == dict(a=[1, 2.5], b=None)
    assert path.read_text().startswith('{\n  "a": [')
    write_json(str(path), [3])
    assert json.loads(path.read_text()) == [3]
    assert os.listdir(path.parent) == ['result.json']


def test_data_that_cannot_be_written_leaves_the_old_file(tmp_path):
    path = tmp_path / 'result.json'
    write_json(str(path), dict(metric=1.0))
    with pytest.raises(TypeError):
        write_json(str(path), dict(metric=object()))
    assert json.loads(path.read_text()) == dict(metric=1.0)


def test_the_gpu_check_loads_it_from_its_file(tmp_path):
    module = load_tool('tools/gpu_check_env.py').frskd_util('json_io')
    assert module.__name__ == 'frskd_mm_json_io'
    module.write_json(str(tmp_path / 'x.json'), dict(ok=True))
    assert json.loads((tmp_path / 'x.json').read_text()) == dict(ok=True)
