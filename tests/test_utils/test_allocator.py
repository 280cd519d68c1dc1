"""tune_cpu_allocator: large CPU tensors are reused, not page-faulted anew."""
import os
import subprocess
import sys

import pytest

from frskd_mm.utils import tune_cpu_allocator

# Minor page faults of five 40 MiB tensors allocated, written and freed in
# turn (as activations are in every training step), in a fresh process,
# after 15 such rounds that let the heap grow to its steady state.
PROBE = r'''
import importlib.util, resource, sys, torch
# The module alone (importing frskd_mm would import MMPretrain: slow).
spec = importlib.util.spec_from_file_location('allocator', sys.argv[1])
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
tuned = allocator.tune_cpu_allocator()
def faults_of_one_round():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.ones(10 << 20)
    del x
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start
# The heap needs a few rounds to reach its steady state (about ten here).
for _ in range(15):
    faults_of_one_round()
print(tuned, sum(faults_of_one_round() for _ in range(5)))
'''
ALLOCATOR = os.path.join(
    os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    'frskd_mm', 'utils', 'allocator.py')


def _probe(env_value):
    env = dict(os.environ, FRSKD_MALLOC_TUNING=env_value)
    out = subprocess.run([sys.executable, '-c', PROBE, ALLOCATOR],
                         env=env,
                         check=True,
                         capture_output=True,
                         text=True).stdout
    tuned, faults = out.split()
    return tuned == 'True', int(faults)


@pytest.mark.skipif(
    not sys.platform.startswith('linux'), reason='glibc mallopt is Linux only')
def test_tuning_stops_page_faults_of_large_tensors():
    tuned_off, faults_off = _probe('0')
    tuned_on, faults_on = _probe('1')
    assert not tuned_off and tuned_on
    # 40 MiB = 10,240 pages of 4 KiB: without tuning every allocation
    # faults its pages in again; with it, the freed block is reused.
    assert faults_off > 5 * 10_000
    assert faults_on < 1_000


def test_opt_out_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv('FRSKD_MALLOC_TUNING', '0')
    assert tune_cpu_allocator() is False
