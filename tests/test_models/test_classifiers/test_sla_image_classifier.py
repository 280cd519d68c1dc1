"""SLAImageClassifier: the second, rotated forward pass in training,
ImageClassifier's inference, and the errors before the first iteration."""
import pytest
import torch
from conftest import sla_classifier_cfg, with_frskd_hook
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from frskd_mm.tasks import TASKS


def build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _batch(n=2, size=32):
    g = torch.Generator().manual_seed(0)
    inputs = torch.randn(n, 3, size, size, generator=g)
    samples = [DataSample().set_gt_label(i % 5) for i in range(n)]
    return inputs, samples


@pytest.mark.parametrize('frskd', [True, False])
def test_loss_is_two_separate_forward_passes(frskd):
    model = build(sla_classifier_cfg(frskd)).train()
    if frskd:
        with_frskd_hook(model)
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].detach().clone()))
    bn = next(m for m in model.backbone.modules()
              if isinstance(m, torch.nn.BatchNorm2d))
    tracked = int(bn.num_batches_tracked)
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')

    assert [x.shape[0] for x in seen] == [2, 8]
    torch.testing.assert_close(seen[0], inputs)
    for b in range(2):
        for k in range(4):
            torch.testing.assert_close(seen[1][b * 4 + k],
                                       torch.rot90(inputs[b], k, (1, 2)))
    # Batch statistics of each pass alone: two updates of the running ones,
    # and the losses are those of the head on separately extracted features.
    assert int(bn.num_batches_tracked) == tracked + 2
    feats = model.extract_feat(inputs)
    rotated = model.extract_feat(seen[1])
    expected = model.head.loss(feats, samples, rotated_feats=rotated)
    assert set(losses) == set(expected)
    for key in losses:
        torch.testing.assert_close(losses[key], expected[key])


@pytest.mark.parametrize('frskd', [True, False])
def test_inference_is_the_plain_image_classifier(frskd):
    """tensor and predict modes equal MMPretrain's ImageClassifier with the
    deployed student's config and weights (the export's split)."""
    model = build(sla_classifier_cfg(frskd)).eval()
    task = TASKS['mmpretrain']
    plain_cfg = task.student_model_config(sla_classifier_cfg(frskd))
    assert plain_cfg['type'] == 'ImageClassifier'
    assert plain_cfg['head']['type'] == 'LinearClsHead'
    plain = MODELS.build(plain_cfg).eval()
    plain.load_state_dict(task.student_state_dict(model.state_dict()))
    inputs, _ = _batch(3)
    with torch.no_grad():
        torch.testing.assert_close(model(inputs), plain(inputs))
        ours = model(inputs, mode='predict')
        theirs = plain(inputs, mode='predict')
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.pred_score, b.pred_score)


@pytest.mark.parametrize('where, name', [
    ('train_cfg', 'Mixup'),
    ('data_preprocessor', 'CutMix'),
])
def test_batch_augments_are_refused_when_built(where, name):
    augments = dict(type=name, alpha=1.0)
    extra = dict(train_cfg=dict(augments=augments)) if where == 'train_cfg' \
        else dict(data_preprocessor=dict(batch_augments=dict(
            augments=augments)))
    with pytest.raises(
            ValueError,
            match=rf"\['{name}'\] is set \(model\.train_cfg\.augments or "
            r'data_preprocessor\.batch_augments\).*Remove'):
        MODELS.build(sla_classifier_cfg(**extra))


def test_a_head_without_the_rotated_features_is_refused():
    cfg = sla_classifier_cfg(frskd=False)
    cfg['head'] = dict(type='LinearClsHead', num_classes=5, in_channels=128)
    with pytest.raises(TypeError, match=r"'SLAClsHead'.*'FRSKDSLAClsHead'"):
        MODELS.build(cfg)


def test_non_square_batches_name_the_pipeline():
    model = build(sla_classifier_cfg(frskd=False)).train()
    inputs = torch.randn(2, 3, 32, 40)
    samples = [DataSample().set_gt_label(0)] * 2
    with pytest.raises(ValueError, match='32x40'):
        model(inputs, samples, mode='loss')
