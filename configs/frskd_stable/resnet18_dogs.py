# resnet18_dogs with our stable FRSKD recipe (not the paper's method):
# ../frskd/resnet18_dogs.py, the paper's settings, with the FRSKDHook of
# ../_base_/frskd_stable_recipe.py (what it changes and why is said there
# and in docs/frskd_study.md). For small or new data sets, short schedules
# and fine-tuning a trained model, where the paper's schedule can leave the
# student far below its baseline.
_base_ = ['../frskd/resnet18_dogs.py', '../_base_/frskd_stable_recipe.py']

custom_hooks = [_base_.stable_frskd_hook]
