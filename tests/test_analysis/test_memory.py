"""frskd_mm.analysis.memory: the peak memory of one training step."""
import math

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper

from frskd_mm.analysis import measure_step_memory


class _Wide(BaseModel):
    """A step whose activations (64 MB in float32) dwarf its weights."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4096)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=self.fc(inputs).relu().sum() * 0)


def test_cpu_step_memory_sees_the_activations():
    model = _Wide()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    data = dict(inputs=torch.randn(4096, 16), data_samples=None)
    memory = measure_step_memory(model, wrapper, data, torch.device('cpu'))
    assert set(memory) == {'method', 'peak_mb', 'step_mb'}
    assert memory['method'].startswith('cpu')
    assert math.isfinite(memory['step_mb']) and memory['peak_mb'] > 0
    if 'VmHWM' in memory['method']:  # Linux: the step's own growth
        assert memory['step_mb'] > 32
        assert memory['peak_mb'] > memory['step_mb']
