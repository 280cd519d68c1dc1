"""EvalResize: the test image at 512x512, scored on the original label
(MMSeg's protocol) or on the label resized with it (the FRSKD authors')."""
import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations, PackSegInputs
from mmseg.models.segmentors import EncoderDecoder
from PIL import Image

from frskd_mm.datasets.transforms import EvalResize


@pytest.fixture
def pair(tmp_path):
    """A 48x64 image and its label: class 1 on the left 20 columns, 255
    (ignored) on row 0, background elsewhere."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    label = np.zeros((48, 64), np.uint8)
    label[:, :20] = 1
    label[0] = 255
    Image.fromarray(img).save(tmp_path / 'img.jpg')
    Image.fromarray(label).save(tmp_path / 'seg.png')
    return dict(
        img_path=str(tmp_path / 'img.jpg'),
        seg_map_path=str(tmp_path / 'seg.png'),
        reduce_zero_label=False,
        seg_fields=[]), label


def _run(results, *transforms):
    for t in transforms:
        results = t(results)
    return results


def _load():
    return (LoadImageFromFile(imdecode_backend='pillow'), LoadAnnotations())


def test_resized_labels_as_the_authors(pair):
    results, label = pair
    resize = EvalResize((512, 512), label_size='resized', backend='pillow')
    out = _run(dict(results), *_load(), resize)
    assert out['img'].shape == (512, 512, 3)
    assert out['ori_shape'] == out['img_shape'] == (512, 512)
    # Their FixedResize: PIL nearest on the label.
    expected = np.asarray(
        Image.fromarray(label).resize((512, 512), Image.NEAREST))
    np.testing.assert_array_equal(out['gt_seg_map'], expected)

    packed = PackSegInputs()(out)['data_samples']
    assert packed.metainfo['ori_shape'] == (512, 512)
    # The segmentor returns the prediction at ori_shape: the label's size.
    logits = torch.randn(1, 3, 512, 512)
    seg = EncoderDecoder.postprocess_result(
        type('Segmentor', (), dict(align_corners=False))(), logits,
        [packed])[0]
    assert seg.pred_sem_seg.shape == packed.gt_sem_seg.shape == (512, 512)
    torch.testing.assert_close(seg.seg_logits.data, logits[0])
    # Inference without a label: the prediction returns to the image size.
    image_only = dict(results)
    image_only.pop('seg_map_path')
    out = _run(image_only, _load()[0], resize)
    assert out['img_shape'] == (512, 512) and out['ori_shape'] == (48, 64)


def test_original_labels_as_mmseg(pair):
    results, label = pair
    resize = EvalResize((512, 512), backend='pillow')
    out = _run(dict(results), *_load(), resize)
    assert out['img'].shape == (512, 512, 3)
    assert out['ori_shape'] == (48, 64)
    np.testing.assert_array_equal(out['gt_seg_map'], label)
    # The same image as Resize before LoadAnnotations (MMSeg's order).
    from mmcv.transforms import Resize
    plain = _run(
        dict(results),
        _load()[0], Resize((512, 512), keep_ratio=False, backend='pillow'),
        _load()[1])
    np.testing.assert_array_equal(out['img'], plain['img'])
    np.testing.assert_array_equal(out['gt_seg_map'], plain['gt_seg_map'])


def test_mistakes_are_named(pair):
    results, _ = pair
    with pytest.raises(ValueError, match='label_size'):
        EvalResize((512, 512), label_size='512')
    resize = EvalResize((512, 512), label_size='resized')
    with pytest.raises(KeyError, match='put LoadAnnotations before'):
        _run(dict(results), _load()[0], resize)
    assert "label_size='resized'" in repr(resize)
