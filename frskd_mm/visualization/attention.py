"""Student vs self-teacher attention maps: the paper's qualitative evidence.

For each image this runs the student (features F_1..F_n: the backbone's
stages, or the outputs of the student's own neck that the FRSKD neck wraps)
and the self-teacher (:class:`~frskd_mm.models.necks.FRSKDNeck`, refined
features T_1..T_n) of a trained FRSKD model, and draws, per level, the spatial
attention map of F_i (what the student attends to) next to that of T_i (the
target that attention transfer pulls it towards). The maps are
:func:`frskd_mm.models.losses.spatial_attention`, the very quantity the
feature term of the loss compares.

The model comes from :func:`frskd_mm.apis.init_model` and stays in eval
mode (:mod:`.maps`: only the neck's teacher branch is switched on); the
image files go through the config's test pipeline (:mod:`.pipeline`) and
the figure is drawn by :func:`~.plot.plot_attention` (matplotlib imported
only there).
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from torch import Tensor

from ..apis.model import has_self_teacher, init_model, load_config
from ..models.losses import attention_transfer
from .maps import attention_maps, attention_power, frskd_features
from .pipeline import build_image_pipeline, prepare_image
from .plot import plot_attention


@dataclass
class AttentionRow:
    """One image of the figure: the input and its per-level attention maps.

    Attributes:
        name (str): Caption of the image (its file name).
        image (np.ndarray): The network input before normalisation, as the
            test pipeline produced it: (H, W, 3) uint8 RGB or (H, W) gray.
        student (list[np.ndarray]): Attention of F_1..F_n, each (H, W)
            float32, upsampled (bilinear) to the image size.
        refined (list[np.ndarray]): Attention of T_1..T_n, same shapes.
        level_sizes (list[tuple[int, int]]): (H_i, W_i) of each level before
            upsampling.
        distances (list[float]): Attention-transfer distance
            ``mean((A(F_i) - A(T_i))^2)`` per level, at level resolution.
        caption (str, optional): Extra line under the name, e.g. the
            student's prediction.
    """

    name: str
    image: np.ndarray
    student: List[np.ndarray] = field(default_factory=list)
    refined: List[np.ndarray] = field(default_factory=list)
    level_sizes: List[Tuple[int, int]] = field(default_factory=list)
    distances: List[float] = field(default_factory=list)
    caption: Optional[str] = None


def check_frskd_config(cfg: Config, name: str = 'The config') -> None:
    """Raise a ValueError unless ``cfg.model`` has an FRSKD self-teacher.

    Args:
        cfg (Config): A loaded config.
        name (str): How to call the config in the message (its path).
    """
    model = cfg.get('model', None)
    neck = model.get('neck', None) if isinstance(model, dict) else None
    neck_type = neck.get('type', None) if isinstance(neck, dict) else neck
    if not (isinstance(neck_type, str)
            and neck_type.split('.')[-1] == 'FRSKDNeck'):
        raise ValueError(
            f'{name} is not an FRSKD config: model.neck is '
            f'{neck_type!r}, but the attention maps of the self-teacher '
            "need model.neck=dict(type='FRSKDNeck', ...). Pass an FRSKD "
            'config (configs/frskd/*.py, configs/demo/frskd_*.py) and its '
            'training checkpoint; baseline configs have no self-teacher.')


def load_frskd_model(cfg: Config,
                     checkpoint: str,
                     device: str = 'cpu',
                     name: str = 'The config') -> nn.Module:
    """The FRSKD model of ``cfg`` holding a training checkpoint's weights,
    in eval mode on ``device`` (:func:`frskd_mm.apis.init_model`).

    Args:
        cfg (Config): A loaded FRSKD config.
        checkpoint (str): A checkpoint that the config trained.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
        name (str): How to call the config in messages (its path).

    Raises:
        ValueError: If the config is not FRSKD, the checkpoint holds no
            self-teacher weights (``neck.layers.*``; an exported student or a
            baseline checkpoint) or does not match the config.
    """
    check_frskd_config(cfg, name)
    try:
        return init_model(cfg, checkpoint, device)
    except RuntimeError as e:
        if not has_self_teacher(checkpoint):
            raise ValueError(
                f'{checkpoint} has no self-teacher (no neck.layers.* '
                'tensors): it is an exported student or a baseline '
                'checkpoint, and the attention maps need the self-teacher. '
                'Pass the checkpoint that the FRSKD config trained '
                '(work_dirs/<frskd config>/epoch_<N>.pth or iter_<N>.pth).'
            ) from e
        raise ValueError(f'{e} (FRSKD configs: the self-teacher\'s classes '
                         'too, e.g. model.neck.num_classes=10)') from e


def _caption(model: nn.Module, student: Tuple[Tensor, ...], data_sample,
             classes: Optional[Sequence[str]]) -> Optional[str]:
    """The student's top-1 class for classifiers, else None."""
    head = getattr(model, 'head', None)
    if head is None or not hasattr(head, 'predict'):
        return None
    with torch.no_grad():
        pred = head.predict(student, [data_sample])[0]
    label = int(pred.pred_label[0])
    score = float(pred.pred_score[label])
    name = classes[label] if classes and label < len(classes) else label
    return f'student: {name} ({score:.0%})'


def compute_rows(
        model: nn.Module,
        cfg: Config,
        images: Sequence[str],
        classes: Optional[Sequence[str]] = None) -> List[AttentionRow]:
    """Attention maps of F_i and T_i for each image file.

    Args:
        model (nn.Module): From :func:`load_frskd_model`.
        cfg (Config): Its config (for the test pipeline).
        images (Sequence[str]): Image files.
        classes (Sequence[str], optional): Class names for the captions.

    Returns:
        list[AttentionRow]: One per image.
    """
    pipeline, loads_file = build_image_pipeline(cfg)
    p = attention_power(model)
    rows = []
    for path in images:
        packed, image = prepare_image(pipeline, loads_file, path)
        with torch.no_grad():
            data = model.data_preprocessor(
                dict(
                    inputs=[packed['inputs']],
                    data_samples=[packed['data_samples']]), False)
        inputs = data['inputs']
        student, refined = frskd_features(model, inputs)
        h, w = image.shape[:2]
        size = tuple(inputs.shape[-2:])  # padded batch: crop to the image
        row = AttentionRow(name=osp.basename(path), image=image)
        for s_map, t_map, s, t in zip(
                attention_maps(student, size, p),
                attention_maps(refined, size, p), student, refined):
            row.student.append(s_map[0, :h, :w].cpu().numpy())
            row.refined.append(t_map[0, :h, :w].cpu().numpy())
            row.level_sizes.append(tuple(s.shape[-2:]))
            row.distances.append(float(attention_transfer(s, t, p)))
        row.caption = _caption(model, student, data['data_samples'][0],
                               classes)
        rows.append(row)
    return rows


def visualize_attention(config: str,
                        checkpoint: str,
                        images: Sequence[str],
                        out: str = 'attention.png',
                        cfg_options: Optional[dict] = None,
                        device: str = 'cpu',
                        **plot_kwargs) -> Tuple[str, List[AttentionRow]]:
    """Config + checkpoint + image files -> the attention figure.

    Args:
        config (str): An FRSKD config (classification or segmentation).
        checkpoint (str): Its training checkpoint (with ``neck.*``).
        images (Sequence[str]): Image files, one figure row each.
        out (str): The PNG to write.
        cfg_options (dict, optional): Overrides merged into the config.
        device (str): Where to run the model.
        **plot_kwargs: ``cell_size``, ``dpi``, ``overlay``, ``cmap`` of
            :func:`plot_attention`.

    Returns:
        tuple: ``(out, rows)``.
    """
    if not images:
        raise ValueError('Give at least one image.')
    missing = [p for p in images if not osp.isfile(p)]
    if missing:
        raise FileNotFoundError(f'Image file(s) not found: {missing}')
    if not osp.isfile(config):
        raise FileNotFoundError(f'Config {config} does not exist.')
    cfg = load_config(config, cfg_options)
    check_frskd_config(cfg, name=config)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint} does not exist.')
    model = load_frskd_model(cfg, checkpoint, device, name=config)
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    rows = compute_rows(model, cfg, images, classes)
    return plot_attention(rows, out, **plot_kwargs), rows
