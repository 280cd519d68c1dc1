"""frskd_mm.analysis.environment: which code was measured, and where."""
import os.path as osp
import re
import subprocess

import torch

from frskd_mm.analysis import source_fingerprint
from frskd_mm.analysis.environment import (ROOT, device_name, load_average,
                                           tree_sha1)


def test_tree_sha1_follows_names_and_contents(tmp_path):
    (tmp_path / 'pkg').mkdir()
    (tmp_path / 'pkg' / 'a.py').write_text('x = 1\n')
    (tmp_path / 'pkg' / 'notes.txt').write_text('ignored')
    first = tree_sha1(str(tmp_path / 'pkg'), str(tmp_path))
    assert re.fullmatch('[0-9a-f]{40}', first)
    (tmp_path / 'pkg' / 'notes.txt').write_text('still ignored')
    assert tree_sha1(str(tmp_path / 'pkg'), str(tmp_path)) == first
    (tmp_path / 'pkg' / 'a.py').write_text('x = 2\n')
    assert tree_sha1(str(tmp_path / 'pkg'), str(tmp_path)) != first


def test_source_fingerprint_of_this_checkout():
    info = source_fingerprint()
    assert re.fullmatch('[0-9a-f]{40}', info['models_sha1'])
    if not osp.exists(osp.join(ROOT, '.git')):
        assert info['git_commit'] is None
        return
    head = subprocess.run(['git', 'rev-parse', 'HEAD'],
                          cwd=ROOT,
                          capture_output=True,
                          text=True).stdout.strip()
    assert info['git_commit'] == head
    assert isinstance(info['frskd_mm_changes'], list)


def test_machine():
    load = load_average()
    assert load is None or len(load) == 3
    assert isinstance(device_name(torch.device('cpu')), str)
