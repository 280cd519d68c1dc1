# FRSKD runtime for segmentation: what an FRSKD segmentation config adds to
# its baseline besides the model. FRSKDHook switches on the stop-gradient of
# the distillation targets (FRSKDSegHead refuses to train without it) and
# schedules alpha/beta with the authors' segmentation recipe: distillation
# off for the first two thirds of training (their VOC run: 40 of 60 epochs),
# then the sigmoid ramp-up exp(-5 (1 - t)^2) to full weight over the last
# third. warmup and ramp count iterations and are set for the 40k-iteration
# schedules of configs/frskd/*voc12aug*/*cityscapes* (26,667 + 13,333);
# a config with another max_iters must set its own custom_hooks.
#
# The hook and the FRSKD modules come from frskd_mm, so the config inheriting
# this file must also have
#   custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
# It is not set here because MMEngine forbids a key defined by two bases of
# one config, and every segmentation baseline (the other base of an FRSKD
# config) already sets it.
custom_hooks = [
    dict(type='FRSKDHook', warmup=26667, ramp=13333, ramp_type='sigmoid')
]
