# FRSKD runtime for detection: what an FRSKD detection config adds to its
# baseline besides the model. FRSKDHook switches on the stop-gradient of the
# distillation targets (FRSKDDenseHead refuses to train without it) and
# schedules alpha/beta with the authors' dense-prediction recipe (their VOC
# segmentation): distillation off for the first two thirds of training, then
# the sigmoid ramp-up exp(-5 (1 - t)^2) to full weight over the last third.
# The teacher head and the self-teacher train from the first iteration
# (loss_teacher_*), so their soft labels are a trained detector's when the
# distillation starts. With by_ratio=True, warmup and ramp are fractions of
# runner.max_iters: for MMDetection's 1x schedule (12 epochs, lr x0.1 after
# epochs 8 and 11) distillation starts with the first lr step, as in the
# authors' 60-epoch VOC run (lr x0.1 and distillation both from epoch 40).
#
# The hook and the FRSKD modules come from frskd_mm, so the config inheriting
# this file must also have
#   custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
# (every detection baseline of configs/baseline/ sets it).
custom_hooks = [
    dict(
        type='FRSKDHook',
        by_ratio=True,
        warmup=2 / 3,
        ramp=1 / 3,
        ramp_type='sigmoid')
]
