# Our stable FRSKD recipe (not the paper's method) on the paper's
# ../frskd/resnet18_stanford40.py, through the FRSKDHook of
# ../_base_/frskd_stable_recipe.py. What it changes: alpha, beta and the
# self-teacher's gradient into the backbone stay 0 until the self-teacher's
# training CE is below the student's (until then the student trains
# exactly as its baseline), then grow linearly to the paper's values over
# the training left, with the self-teacher's gradient in the backbone held
# to at most the student's own. Why: on small data, short or step
# schedules and fine-tuning, an untrained self-teacher distilled from the
# first iteration left the student up to 58 points below its baseline
# (docs/frskd_study.md). The model, the losses at full weight and the
# deployed student are the paper's.
_base_ = [
    '../frskd/resnet18_stanford40.py',
    '../_base_/frskd_stable_recipe.py'
]

custom_hooks = [_base_.stable_frskd_hook]
