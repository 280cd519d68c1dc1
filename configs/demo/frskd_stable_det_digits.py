# Demo, detection FRSKD with our stable recipe (not the paper's method):
# frskd_det_digits.py (alpha 1, beta 50, T 1) with the FRSKDHook of
# ../_base_/frskd_stable_recipe.py (distillation waits until the
# self-teacher is ahead of the student, then ramps; the self-teacher's
# terms are held to the student's own gradient) instead of the authors'
# dense-prediction schedule (off for 2/3, then the sigmoid ramp).
# Everything else, the deployed student included, is frskd_det_digits.py.
_base_ = ['./frskd_det_digits.py', '../_base_/frskd_stable_recipe.py']

custom_hooks = [_base_.stable_frskd_hook]
