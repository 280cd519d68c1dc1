"""Export the deployable student of an FRSKD classifier, segmentor or
detector.

Writes ``<out-dir>/<name>_student.py`` and ``<out-dir>/<name>_student.pth``:
a config and checkpoint that a plain MMPretrain installation loads with
``mmpretrain.apis.init_model`` / ``ImageClassificationInferencer`` (a
plain MMSegmentation one with ``mmseg.apis.init_model`` /
``inference_model``, a plain MMDetection one with
``mmdet.apis.init_detector`` / ``inference_detector``), without frskd_mm
(unless the backbone itself is frskd_mm's, e.g. WideResNetCIFAR). The
student predicts exactly what the FRSKD model predicts in eval mode.

Example:
    python tools/export_student.py configs/frskd/resnet18_cifar100.py \\
        work_dirs/resnet18_cifar100/epoch_200.pth --out-dir exported/
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

from frskd_mm.apis import export_student
from frskd_mm.tasks import get_task


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export the student of an FRSKD model (no self-teacher)')
    parser.add_argument('config', help='FRSKD training config')
    parser.add_argument('checkpoint', help='checkpoint of that config')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--name', help='file stem (default: config name)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config')
    return parser.parse_args(argv)


def export(config: str,
           checkpoint: str,
           out_dir: str,
           name: str = None,
           cfg_options: dict = None):
    """Write the student config and checkpoint; return their paths, the
    number of tensors removed and whether the config imports frskd_mm."""
    student = export_student(config, checkpoint, cfg_options)
    name = name or osp.splitext(osp.basename(config))[0]
    os.makedirs(out_dir, exist_ok=True)
    cfg_path = osp.join(out_dir, f'{name}_student.py')
    ckpt_path = osp.join(out_dir, f'{name}_student.pth')
    student.config.dump(cfg_path)
    meta = dict(
        student.meta,
        frskd_export=dict(source_config=config, source_checkpoint=checkpoint))
    torch.save(
        dict(state_dict=student.model.state_dict(), meta=meta), ckpt_path)
    return cfg_path, ckpt_path, student.removed, student.needs_frskd


def main(argv=None):
    args = parse_args(argv)
    cfg_path, ckpt_path, removed, needs_frskd = export(args.config,
                                                       args.checkpoint,
                                                       args.out_dir, args.name,
                                                       args.cfg_options)
    print(f'Student config:     {cfg_path}')
    print(f'Student checkpoint: {ckpt_path}  ({removed} training-only '
          'tensors of the self-teacher removed)')
    if needs_frskd:
        print('Note: the student uses modules of frskd_mm, so the exported '
              'config imports them (custom_imports).')
    task = get_task(Config.fromfile(cfg_path))
    print(f'Load it with: from {task.scope}.apis import {task.init_api}; '
          f"{task.init_api}('{cfg_path}', '{ckpt_path}')")


if __name__ == '__main__':
    main()
