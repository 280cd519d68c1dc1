# FRSKD runtime for segmentation: what an FRSKD segmentation config adds to
# its baseline besides the model. FRSKDHook switches on the stop-gradient of
# the distillation targets (FRSKDSegHead refuses to train without it) and
# schedules alpha/beta with the authors' segmentation recipe: distillation
# off for the first two thirds of training (their VOC run: 40 of 60 epochs),
# then the sigmoid ramp-up exp(-5 (1 - t)^2) to full weight over the last
# third. With by_ratio=True, warmup and ramp are fractions of the config's
# train_cfg.max_iters (runner.max_iters), so the recipe follows any schedule
# length: for the 40k-iteration configs/frskd/*voc12aug*/*cityscapes* it is
# off until iteration 26,667 and at full weight at 40,000. The factor grows
# every iteration; the paper's VOC configs (efficientdet_*_voc0712_512x512)
# do not use this file: they set their own FRSKDHook, by epoch and held for
# each epoch at the authors' value (epoch_steps=True).
#
# The hook and the FRSKD modules come from frskd_mm, so the config inheriting
# this file must also have
#   custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
# It is not set here because MMEngine forbids a key defined by two bases of
# one config, and every segmentation baseline (the other base of an FRSKD
# config) already sets it.
custom_hooks = [
    dict(
        type='FRSKDHook',
        by_ratio=True,
        warmup=2 / 3,
        ramp=1 / 3,
        ramp_type='sigmoid')
]
