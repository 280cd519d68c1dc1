"""frskd_mm.apis.export_student on every device: the exported student
computes what the FRSKD model computes in eval mode."""
import os.path as osp

import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

from frskd_mm.apis import export_student, init_model

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py')
OPTIONS = {'model.head.num_classes': 10, 'model.neck.num_classes': 10}


def _checkpoint(path) -> None:
    """An FRSKD WRN-16-2 checkpoint with non-trivial weights and BN
    statistics, as after training (running variances and BN scales in
    [0.9, 1.1), everything else N(0, 0.05))."""
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(OPTIONS)
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if not p.dtype.is_floating_point:
                continue
            if 'running_var' in name or ('bn' in name and 'weight' in name):
                p.copy_(torch.rand_like(p) * 0.2 + 0.9)
            else:
                p.copy_(torch.randn_like(p) * 0.05)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=[str(i) for i in range(10)]))),
        path)


def test_exported_student_gives_the_frskd_logits_on_the_device(
        tmp_path, device):
    ckpt = str(tmp_path / 'frskd.pth')
    _checkpoint(ckpt)
    student = export_student(CONFIG, ckpt, OPTIONS)
    frskd = init_model(CONFIG, ckpt, device=device, cfg_options=OPTIONS)
    plain = student.model.to(device).eval()
    assert type(frskd.neck).__name__ == 'FRSKDNeck'
    assert type(plain.neck).__name__ == 'GlobalAveragePooling'
    assert student.removed > 0
    assert student.meta['dataset_meta']['classes'][0] == '0'
    assert student.config.model.neck.type == 'GlobalAveragePooling'
    assert student.needs_frskd  # the WideResNetCIFAR backbone is ours
    assert {p.device.type for p in plain.parameters()} == {device.type}
    assert {p.device.type for p in frskd.parameters()} == {device.type}

    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(4, 3, 32, 32, generator=g).to(device)
    with torch.no_grad():
        expected = frskd(inputs, mode='tensor')
        got = plain(inputs, mode='tensor')
    assert got.shape == (4, 10) and got.device.type == device.type
    # The same layers on the same device: equal up to float32 rounding.
    torch.testing.assert_close(got, expected)
    # The logits depend on the weights and the image (not a constant).
    assert got.std(dim=1).min() > 0 and got.std(dim=0).min() > 0
