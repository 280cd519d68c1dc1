# Demo, detection FRSKD with our stable recipe (not the paper's method; see
# docs/frskd_study.md): frskd_det_digits.py (alpha 1, beta 50, T 1) with the
# distillation weight ramped linearly from 0 to full over the whole training
# (FRSKDHook by_ratio, warmup 0, ramp 1) instead of the authors'
# dense-prediction schedule (off for 2/3, then the sigmoid ramp).
# Everything else, the deployed student included, is frskd_det_digits.py.
_base_ = ['./frskd_det_digits.py']

custom_hooks = [dict(type='FRSKDHook', by_ratio=True, warmup=0.0, ramp=1.0)]
