"""Hook that makes a resumed run draw the random numbers the
uninterrupted run would have drawn."""
from typing import Dict, Optional

from mmengine.hooks import Hook

from frskd_mm.registry import HOOKS
from ...utils.rng import get_rng_state, set_rng_state


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the training process's random states and restore them on resume.

    MMEngine re-seeds the random generators when it resumes, so a resumed
    run draws dropout masks (and, with ``num_workers=0``, augmentations)
    from the start of the stream again. This hook:

    - stores Python's, NumPy's and torch's random states in every
      checkpoint (``checkpoint['rng_state']``);
    - on resume, restores them before the first resumed epoch (before the
      dataloader is iterated, and before MMEngine replays the data of an
      iteration-based run);
    - runs validation on a fork of the states, so that validating (which
      draws a DataLoader seed, and perhaps more) does not move the training
      stream, and the states saved with a checkpoint are those the next
      training step starts from, whether validation runs before or after
      the save.

    Together with :class:`~frskd_mm.datasets.DrawSeededSampler` and
    :class:`~frskd_mm.datasets.DrawSeededDataset` (augmentation seeded per
    draw, independent of worker processes), an interrupted and resumed run
    ends with the weights of an uninterrupted one. ``tools/train.py`` adds
    all three when ``randomness.deterministic=True``.

    Only the main process's states of each rank are kept, and rank 0's are
    saved: in distributed runs with ``diff_rank_seed=True`` the other ranks
    resume from rank 0's states.
    """

    priority = 'VERY_HIGH'  # restore before any other hook draws

    def __init__(self) -> None:
        self._resumed: Optional[Dict] = None
        self._training_state: Optional[Dict] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        meta = checkpoint.get('meta') or {}
        self._resumed = None if state is None else dict(
            state=state, iter=meta.get('iter'))

    def before_train_epoch(self, runner) -> None:
        resumed, self._resumed = self._resumed, None
        # Only a resume sets the loop's counters to the checkpoint's; a
        # ``load_from`` (fine-tuning) starts at 0 and keeps the fresh seed.
        if resumed is not None and runner.iter > 0 and \
                runner.iter == resumed['iter']:
            set_rng_state(resumed['state'])

    def before_val(self, runner) -> None:
        self._training_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._training_state is not None:
            set_rng_state(self._training_state)
            self._training_state = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # A checkpoint saved during validation (the best one, and the last
        # one saved again with it) gets the training states of before it.
        checkpoint['rng_state'] = self._training_state or get_rng_state()
