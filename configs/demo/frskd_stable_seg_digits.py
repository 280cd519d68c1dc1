# README demo, segmentation FRSKD with our stable recipe (not the paper's
# method; see docs/frskd_study.md): frskd_seg_digits.py (alpha 1, beta 50,
# T 1) with the distillation weight ramped linearly from 0 to full over the
# whole training (FRSKDHook by_ratio, warmup 0, ramp 1) instead of the
# paper's VOC schedule (off for 2/3, then the sigmoid ramp). Everything
# else, the deployed student included, is the paper's FRSKD.
_base_ = ['./frskd_seg_digits.py']

custom_hooks = [dict(type='FRSKDHook', by_ratio=True, warmup=0.0, ramp=1.0)]
