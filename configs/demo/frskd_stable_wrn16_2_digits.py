# README demo, FRSKD with our stable recipe (not the paper's method; see
# docs/frskd_study.md): frskd_wrn16_2_digits.py (alpha 2, beta 100, T 4)
# with the distillation weight ramped linearly from 0 to full over the whole
# training (FRSKDHook by_ratio, warmup 0, ramp 1). Everything else, the
# deployed student included, is the paper's FRSKD.
_base_ = ['./frskd_wrn16_2_digits.py']

custom_hooks = [dict(type='FRSKDHook', by_ratio=True, warmup=0.0, ramp=1.0)]
