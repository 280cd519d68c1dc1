# resnet18_stanford40 with our stable FRSKD recipe (not the paper's method;
# see docs/frskd_study.md): ../frskd/resnet18_stanford40.py, the paper's
# settings, with the distillation weight (alpha and beta together) ramped
# linearly from 0 to full over the whole training instead of full from the
# first iteration. For small or new data sets and short schedules, where the
# paper's constant weights let the untrained self-teacher's soft labels hold
# the student back.
_base_ = ['../frskd/resnet18_stanford40.py']

custom_hooks = [dict(type='FRSKDHook', by_ratio=True, warmup=0.0, ramp=1.0)]
