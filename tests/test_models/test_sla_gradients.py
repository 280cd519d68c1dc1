"""Gradient flow of every FRSKD + SLA term through a whole classifier
(autograd), as the FRSKD authors' SLA code routes it, with our rule that
FRSKD's distillation (loss_kd, loss_att) updates only the student."""
import pytest
import torch
from conftest import sla_classifier_cfg
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from frskd_mm.engine.hooks import FRSKDHook


class _Runner:

    def __init__(self, model):
        self.model = model


# Parameter groups: the backbone, the self-teacher's layers and its single
# classifier (model.neck), the student's classifier and the two joint
# classifiers (model.head).
GROUPS = {
    'backbone': lambda n: n.startswith('backbone.'),
    'teacher': lambda n: n.startswith('neck.layers.'),
    'teacher_fc': lambda n: n.startswith('neck.fc.'),
    'fc': lambda n: n.startswith('head.fc.'),
    'joint_fc': lambda n: n.startswith('head.joint_fc.'),
    'teacher_joint_fc': lambda n: n.startswith('head.teacher_joint_fc.'),
}

# What each term trains; every other group gets exactly zero gradient.
TRAINS = {
    'loss_cls': {'backbone', 'fc'},
    'loss_teacher': {'backbone', 'teacher', 'teacher_fc'},
    'loss_joint': {'backbone', 'joint_fc'},
    'loss_teacher_joint': {'backbone', 'teacher', 'teacher_joint_fc'},
    # SLA distillation: the aggregated joint logits are detached targets.
    'loss_sla': {'backbone', 'fc'},
    'loss_teacher_sla': {'backbone', 'teacher', 'teacher_fc'},
    # FRSKD's distillation on [single; aggregated] logits: the student side
    # holds the student's joint classifier too; nothing reaches the
    # self-teacher or its joint classifier.
    'loss_kd': {'backbone', 'fc', 'joint_fc'},
    'loss_att': {'backbone'},
}


@pytest.fixture(scope='module')
def model_and_losses():
    torch.manual_seed(0)
    model = MODELS.build(sla_classifier_cfg(frskd=True))
    model.init_weights()
    FRSKDHook().before_train(_Runner(model))
    model.train()
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(4, 3, 32, 32, generator=g)
    samples = [DataSample().set_gt_label(i % 5) for i in range(4)]
    return model, model(inputs, samples, mode='loss')


def test_every_parameter_is_in_a_group(model_and_losses):
    model, losses = model_and_losses
    assert set(losses) == set(TRAINS)
    names = [n for n, _ in model.named_parameters()]
    assert all(sum(g(n) for g in GROUPS.values()) == 1 for n in names)


@pytest.mark.parametrize('key', sorted(TRAINS))
def test_gradient_flow(model_and_losses, key):
    model, losses = model_and_losses
    assert losses[key].item() > 0
    named = list(model.named_parameters())
    grads = torch.autograd.grad(
        losses[key], [p for _, p in named],
        retain_graph=True,
        allow_unused=True)
    by_group = {g: [] for g in GROUPS}
    for (name, _), grad in zip(named, grads):
        group = next(g for g, member in GROUPS.items() if member(name))
        by_group[group].append(0 if grad is
                               None else int(torch.count_nonzero(grad)))
    trained = {g for g, counts in by_group.items() if any(counts)}
    assert trained == TRAINS[key], (key, by_group)
