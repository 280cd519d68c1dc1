"""tools/analysis_tools/visualize_attention.py: student vs self-teacher
attention maps."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from conftest import load_tool
from matplotlib.image import imread
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

from frskd_mm.apis import init_model
from frskd_mm.models.losses import spatial_attention
from frskd_mm.visualization import (build_image_pipeline, compute_rows,
                                    frskd_features, load_frskd_model,
                                    prepare_image, visualize_attention)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py')
DEMO_CONFIG = osp.join(ROOT, 'configs/demo/frskd_wrn16_2_digits.py')
BASELINE_CONFIG = osp.join(ROOT, 'configs/baseline/wrn16_2_cifar100.py')
TEN = ['model.head.num_classes=10', 'model.neck.num_classes=10']


def _tool():
    return load_tool('tools/analysis_tools/visualize_attention.py')


def _cfg(path=CONFIG):
    cfg = Config.fromfile(path)
    cfg.model.head.num_classes = cfg.model.neck.num_classes = 10
    return cfg


@pytest.fixture(scope='module')
def fixture(tmp_path_factory):
    """A 10-class FRSKD WRN-16-2 checkpoint with non-trivial BN statistics
    and three 32x32 RGB images (a red square, a green bar, noise)."""
    tmp = tmp_path_factory.mktemp('attention')
    model = init_model(_cfg(), seed=0)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('running_var'):
                t.copy_(torch.rand_like(t) * 0.5 + 0.75)
            elif name.endswith('running_mean'):
                t.copy_(torch.randn_like(t) * 0.1)
    ckpt = str(tmp / 'frskd.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=[f'c{i}'
                                                 for i in range(10)]))), ckpt)
    student_only = str(tmp / 'student.pth')
    torch.save(
        dict(
            state_dict={
                k: v
                for k, v in model.state_dict().items()
                if not k.startswith('neck.')
            }), student_only)
    rng = np.random.default_rng(0)
    arrays = [np.zeros((32, 32, 3), np.uint8) for _ in range(2)]
    arrays[0][8:20, 10:22, 0] = 255  # red square
    arrays[1][:, 14:18, 1] = 200  # green bar
    arrays.append(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    images = []
    for i, a in enumerate(arrays):
        images.append(str(tmp / f'img{i}.png'))
        Image.fromarray(a).save(images[-1])
    return dict(
        tmp=tmp,
        ckpt=ckpt,
        student_only=student_only,
        images=images,
        arrays=arrays)


def test_cli_writes_one_png_of_the_expected_size(fixture, capsys):
    out = fixture['tmp'] / 'fig' / 'attention.png'
    _tool().main([
        CONFIG, fixture['ckpt'], *fixture['images'], '--out',
        str(out), '--cfg-options', *TEN, '--dpi', '40'
    ])
    img = imread(str(out))
    # 3 images x (input + 3 levels x (F_i, T_i)) panels of 2 in at 40 dpi.
    assert img.shape[:2] == (3 * 80, 7 * 80)
    rgb = img[..., :3].reshape(-1, 3)
    assert rgb.std(0).max() > 0.1
    assert len(np.unique(rgb, axis=0)) > 50
    printed = capsys.readouterr().out
    assert 'AT(F_3,T_3)=' in printed and 'img2.png' in printed
    assert str(out) in printed


def test_maps_are_spatial_attention_of_student_and_refined(fixture):
    cfg = _cfg()
    model = load_frskd_model(cfg, fixture['ckpt'])
    assert model.dataset_meta['classes'][0] == 'c0'
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rows = compute_rows(
        model,
        cfg,
        fixture['images'][:2],
        classes=[f'c{i}' for i in range(10)])

    # The model is untouched: eval mode everywhere, same BN statistics.
    assert not model.training and not model.neck.training
    assert all(
        torch.equal(before[k], v) for k, v in model.state_dict().items())

    # Reference: F_i from the backbone, T_i by the neck's BiFPN layers,
    # all in eval mode, on the same preprocessed input.
    pipeline, loads_file = build_image_pipeline(cfg)
    assert not loads_file  # CIFAR pipeline: the tool reads the file
    packed, _ = prepare_image(pipeline, loads_file, fixture['images'][0])
    x = model.data_preprocessor(dict(inputs=[packed['inputs']]),
                                False)['inputs']
    with torch.no_grad():
        feats = model.backbone(x)
        refined = feats
        for layer in model.neck.layers:
            refined = layer(refined)
    row = rows[0]
    assert row.level_sizes == [(32, 32), (16, 16), (8, 8)]
    assert len(row.student) == len(row.refined) == 3
    assert all(m.shape == (32, 32) for m in row.student + row.refined)
    # Level 1 is at image resolution, so its maps are exactly the
    # normalised attention maps reshaped to H_1 x W_1.
    np.testing.assert_allclose(
        row.student[0],
        spatial_attention(feats[0]).view(32, 32).numpy(),
        rtol=1e-5,
        atol=1e-7)
    np.testing.assert_allclose(
        row.refined[0],
        spatial_attention(refined[0]).view(32, 32).numpy(),
        rtol=1e-5,
        atol=1e-7)
    assert not np.allclose(row.student[0], row.refined[0])
    assert all(d > 0 for d in row.distances)
    assert row.caption.startswith('student: c')
    # The displayed input is the RGB file content (no channel swap).
    np.testing.assert_array_equal(row.image, fixture['arrays'][0])


def test_frskd_features_returns_student_and_refined_levels(fixture):
    cfg = _cfg()
    model = init_model(cfg)
    student, refined = frskd_features(model, torch.randn(2, 3, 32, 32))
    assert [tuple(f.shape) for f in student] == [(2, 32, 32, 32),
                                                 (2, 64, 16, 16),
                                                 (2, 128, 8, 8)]
    assert [tuple(t.shape) for t in refined] == [(2, 64, 32, 32),
                                                 (2, 128, 16, 16),
                                                 (2, 256, 8, 8)]
    assert not model.neck.training


def test_pipelines_with_and_without_loader_show_the_same_rgb_image(fixture):
    demo = Config.fromfile(DEMO_CONFIG)
    # Built in the config's scope, whatever the current one is.
    with DefaultScope.overwrite_default_scope('mmseg'):
        pipeline, loads_file = build_image_pipeline(demo)
    assert loads_file  # LoadImageFromFile reads BGR; shown as RGB
    _, image = prepare_image(pipeline, loads_file, fixture['images'][0])
    np.testing.assert_array_equal(image, fixture['arrays'][0])


def test_clear_errors(fixture, monkeypatch):
    images = fixture['images'][:1]
    with pytest.raises(ValueError, match='not an FRSKD config'):
        visualize_attention(BASELINE_CONFIG, fixture['ckpt'], images)
    missing = str(fixture['tmp'] / 'nope.png')
    with pytest.raises(FileNotFoundError, match='nope.png'):
        visualize_attention(CONFIG, fixture['ckpt'], [images[0], missing])
    opts = dict(
        model=dict(head=dict(num_classes=10), neck=dict(num_classes=10)))
    with pytest.raises(
            ValueError,
            match=r'has no self-teacher \(no neck\.layers\.\* tensors\)'):
        visualize_attention(
            CONFIG, fixture['student_only'], images, cfg_options=opts)
    with pytest.raises(ValueError, match='does not fit'):
        visualize_attention(CONFIG, fixture['ckpt'], images)  # 100 classes
    # From the command line: the reason, no traceback.
    monkeypatch.setattr(sys, 'argv', [
        'visualize_attention.py', CONFIG, fixture['student_only'], images[0],
        '--cfg-options', *TEN
    ])
    with pytest.raises(SystemExit, match='has no self-teacher'):
        _tool().main()


SEG_CONFIG = '''
default_scope = 'mmseg'
custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(type='SegDataPreProcessor', mean=[120.0] * 3,
                         std=[60.0] * 3, bgr_to_rgb=True, size=(48, 48))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='ResNetV1c', depth=18, num_stages=4,
                  out_indices=(0, 1, 2, 3), norm_cfg=norm_cfg,
                  base_channels=16, stem_channels=16),
    neck=dict(type='FRSKDNeck', in_channels=[16, 32, 64, 128], width=2),
    decode_head=dict(
        type='FRSKDSegHead',
        student=dict(type='FCNHead', in_channels=128, in_index=3,
                     channels=16, num_convs=1, num_classes=3,
                     norm_cfg=norm_cfg),
        teacher=dict(in_channels=32, in_index=0, channels=16)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(type='BaseSegDataset',
                                    pipeline=test_pipeline))
'''


def test_segmentation_config(fixture):
    """The same tool on an MMSeg FRSKD model (annotation loading dropped)."""
    tmp = fixture['tmp']
    (tmp / 'seg_cfg.py').write_text(SEG_CONFIG)
    out = str(tmp / 'seg.png')
    try:
        model = init_model(str(tmp / 'seg_cfg.py'), seed=0)
        ckpt = str(tmp / 'seg.pth')
        torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
        _, rows = visualize_attention(
            str(tmp / 'seg_cfg.py'),
            ckpt,
            fixture['images'][:2],
            out=out,
            dpi=30,
            cell_size=1.0)
    finally:
        from mmengine.registry import init_default_scope
        init_default_scope('mmpretrain')  # as conftest left it
    assert rows[0].level_sizes == [(12, 12), (6, 6), (3, 3), (2, 2)]
    assert rows[0].image.shape == (48, 48, 3)
    assert rows[0].caption is None
    img = imread(out)
    assert img.shape[:2] == (2 * 30, 9 * 30)
    assert img[..., :3].reshape(-1, 3).std(0).max() > 0.1


def test_features_of_a_self_teacher_on_top_of_an_fpn():
    """F_i are the student's FPN levels; nothing of the model changes."""
    model_cfg = dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            base_channels=16,
            stem_channels=16,
            out_indices=(0, 1, 2, 3)),
        neck=dict(
            type='FRSKDNeck',
            neck=dict(
                type='FPN',
                in_channels=[16, 32, 64, 128],
                out_channels=16,
                num_outs=4),
            in_channels=[16] * 4,
            last_layer_top_down_only=True),
        decode_head=dict(
            type='FRSKDSegHead',
            student=dict(
                type='FCNHead',
                in_channels=16,
                in_index=0,
                channels=16,
                num_convs=1,
                num_classes=3),
            teacher=dict(in_channels=32, in_index=0, channels=16)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = init_model(
            Config(dict(default_scope='mmseg', model=model_cfg)), seed=0)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, 3, 64, 64)
    student, refined = frskd_features(model, x)
    with torch.no_grad():
        expected = model.neck.neck(model.backbone(x))
    assert len(student) == len(refined) == 4
    for a, b in zip(student, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [t.shape[1] for t in refined] == [32] * 4
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    assert not model.neck.training and not model.neck.neck.training
