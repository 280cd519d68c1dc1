# README demo, segmentation FRSKD with our stable recipe (not the paper's
# method): frskd_seg_digits.py (alpha 1, beta 50, T 1) with the FRSKDHook
# of ../_base_/frskd_stable_recipe.py instead of the paper's VOC schedule
# (off for 2/3, then the sigmoid ramp). Everything else, the deployed
# student included, is the paper's FRSKD.
_base_ = ['./frskd_seg_digits.py', '../_base_/frskd_stable_recipe.py']

custom_hooks = [_base_.stable_frskd_hook]
