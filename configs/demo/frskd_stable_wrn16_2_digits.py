# README demo, FRSKD with our stable recipe (not the paper's method):
# frskd_wrn16_2_digits.py (alpha 2, beta 100, T 4) with the FRSKDHook of
# ../_base_/frskd_stable_recipe.py (distillation waits until the
# self-teacher is ahead of the student, then ramps; the self-teacher's
# terms are held to the student's own gradient). Everything else, the
# deployed student included, is the paper's FRSKD.
_base_ = ['./frskd_wrn16_2_digits.py', '../_base_/frskd_stable_recipe.py']

custom_hooks = [_base_.stable_frskd_hook]
