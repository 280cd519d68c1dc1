"""RandomStateHook: checkpoints carry the training stream's random states;
validation does not move it; a resume restores it."""
import types

import torch

from frskd_mm.engine.hooks import RandomStateHook


def _runner(iter=0):
    return types.SimpleNamespace(iter=iter)


def test_validation_runs_on_a_fork_and_checkpoints_hold_the_training_state():
    hook = RandomStateHook()
    torch.manual_seed(0)
    torch.rand(3)
    saved = {}
    hook.before_save_checkpoint(_runner(), saved)  # e.g. epoch_1.pth
    expected_next = torch.rand(())
    torch.manual_seed(0)
    torch.rand(3)
    hook.before_val(_runner())
    torch.rand(100)  # validation draws
    during_val = {}
    hook.before_save_checkpoint(_runner(), during_val)  # best_*.pth
    hook.after_val(_runner())
    assert torch.rand(()) == expected_next
    for ckpt in (saved, during_val):
        assert torch.equal(ckpt['rng_state']['torch'],
                           saved['rng_state']['torch'])


def test_resume_restores_the_states_and_load_from_does_not():
    torch.manual_seed(1)
    checkpoint = dict(meta=dict(iter=12))
    RandomStateHook().before_save_checkpoint(_runner(), checkpoint)
    expected = torch.rand(())

    hook = RandomStateHook()
    torch.manual_seed(7)  # what MMEngine's resume re-seeds with
    hook.after_load_checkpoint(_runner(), checkpoint)
    hook.before_train_epoch(_runner(iter=12))
    assert torch.rand(()) == expected

    hook = RandomStateHook()  # load_from: training starts at iteration 0
    torch.manual_seed(7)
    fresh = torch.rand(())
    torch.manual_seed(7)
    hook.after_load_checkpoint(_runner(), checkpoint)
    hook.before_train_epoch(_runner(iter=0))
    assert torch.rand(()) == fresh
