# FRSKD runtime: what an FRSKD config adds to its baseline besides the model.
# FRSKDHook switches on the stop-gradient of the distillation targets (the
# FRSKD head refuses to train without it) and schedules alpha/beta; the
# defaults (no warm-up, no ramp) are the paper's classification recipe.
#
# The hook and the FRSKD modules come from frskd_mm, so the config inheriting
# this file must also have
#   custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
# It is not set here because MMEngine forbids a key defined by two bases of
# one config, and every configs/baseline/*.py (the other base of an FRSKD
# config) already sets it.
custom_hooks = [dict(type='FRSKDHook')]
