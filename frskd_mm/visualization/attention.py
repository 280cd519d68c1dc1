"""Student vs self-teacher attention maps: the paper's qualitative evidence.

For each image this runs the student backbone (features F_1..F_n) and the
self-teacher (:class:`~frskd_mm.models.necks.FRSKDNeck`, refined features
T_1..T_n) of a trained FRSKD model, and draws, per level, the spatial
attention map of F_i (what the student attends to) next to that of T_i (the
target that attention transfer pulls it towards). The maps are
:func:`frskd_mm.models.losses.spatial_attention`, the very quantity the
feature term of the loss compares.

The whole model stays in eval mode, so no BatchNorm statistic changes and
BN uses its running statistics, as at test time; only the neck object itself
is switched to its training branch (``neck.training = True``, not
``neck.train()``), because in eval mode the neck skips the self-teacher.

matplotlib is imported only inside :func:`plot_attention`.
"""
import copy
import os
import os.path as osp
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from torch import Tensor

from ..models.losses import (AttentionTransferLoss, attention_transfer,
                             spatial_attention)
from ..models.necks import FRSKDNeck
from ..models.necks.self_teacher_features import SelfTeacherFeatures


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


def build_frskd_model(cfg: Config, device: str = 'cpu') -> nn.Module:
    """Build the FRSKD model of a classification or segmentation config.

    Registers the task's modules (MMPretrain or MMSegmentation, from
    ``default_scope``), merges a top-level ``data_preprocessor`` into the
    model as the Runner does, converts SyncBN to BN on CPU, and returns the
    model in eval mode on ``device``. The weights are not initialised; load
    them with :func:`load_frskd_checkpoint`.

    Args:
        cfg (Config): A loaded FRSKD config.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...

    Returns:
        nn.Module: The model (ImageClassifier or EncoderDecoder).
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, init_default_scope

    from ..utils import setup_task

    check_frskd_config(cfg)
    setup_task(cfg)
    init_default_scope(cfg.default_scope)
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor', None) is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    if not isinstance(getattr(model, 'neck', None), FRSKDNeck):
        raise ValueError(
            f'The built model has no FRSKDNeck (model.neck is '
            f'{type(getattr(model, "neck", None)).__name__}).')
    if not str(device).startswith('cuda'):
        model = revert_sync_batchnorm(model)
    return model.to(device).eval()


def load_frskd_checkpoint(model: nn.Module, checkpoint: str) -> Dict:
    """Load an FRSKD training checkpoint strictly into ``model``.

    Args:
        model (nn.Module): Built by :func:`build_frskd_model`.
        checkpoint (str): Path of a checkpoint written by the Runner (or any
            ``dict(state_dict=..., meta=...)``, or a bare state dict).

    Returns:
        dict: The checkpoint's ``meta`` (empty if it has none).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it holds no self-teacher weights (``neck.*``), e.g.
            an exported student or a baseline checkpoint, or does not match
            the config.
    """
    from ..apis import training_state_dict
    from ..utils import load_checkpoint_file

    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state = training_state_dict(ckpt, checkpoint)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(
            f'{checkpoint} does not match the config\'s model ({e}). Use the '
            'config the checkpoint was trained with, or fix it with '
            '--cfg-options (e.g. model.head.num_classes=10 '
            'model.neck.num_classes=10).') from e
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    return meta or {}


def _test_pipeline_cfg(cfg: Config) -> list:
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    while isinstance(dataset, dict) and 'pipeline' not in dataset:
        inner = dataset.get('dataset', None) or (dataset.get('datasets')
                                                 or [None])[0]
        if inner is None:
            break
        dataset = inner
    pipeline = dataset.get('pipeline') if isinstance(dataset, dict) else None
    pipeline = pipeline or cfg.get('test_pipeline', None)
    if not pipeline:
        raise ValueError('The config has no test pipeline '
                         '(test_dataloader.dataset.pipeline or '
                         'test_pipeline).')
    return copy.deepcopy(list(pipeline))


def _type_name(transform) -> str:
    t = transform.get('type', '') if isinstance(transform, dict) else \
        type(transform).__name__
    return t if isinstance(t, str) else getattr(t, '__name__', str(t))


def build_image_pipeline(cfg: Config):
    """The config's test pipeline, ready for image files.

    Annotation loading is dropped (there are no labels). When the pipeline
    has no ``LoadImageFromFile`` (in-memory datasets such as CIFAR, whose
    arrays are RGB), images are read by :func:`prepare_image` in RGB order.

    Args:
        cfg (Config): A loaded config whose default scope is initialised
            (see :func:`build_frskd_model`).

    Returns:
        tuple: ``(pipeline, loads_file)``: an ``mmengine.dataset.Compose``
        and whether it reads the image file itself (BGR, as
        ``LoadImageFromFile`` does).
    """
    from mmengine.dataset import Compose

    pipeline = [
        t for t in _test_pipeline_cfg(cfg)
        if not _type_name(t).endswith('LoadAnnotations')
    ]
    loads_file = any(
        _type_name(t).endswith('LoadImageFromFile') for t in pipeline)
    return Compose(pipeline), loads_file


def prepare_image(pipeline, loads_file: bool,
                  path: str) -> Tuple[dict, np.ndarray]:
    """Run one image file through the test pipeline.

    Args:
        pipeline: From :func:`build_image_pipeline`.
        loads_file (bool): From :func:`build_image_pipeline`.
        path (str): The image file.

    Returns:
        tuple: ``(packed, image)``: the pipeline's output (``inputs``, a
        (C, H, W) tensor, and ``data_samples``) and that input as an RGB
        (H, W, 3) or gray (H, W) uint8 array for display.
    """
    if loads_file:
        results = dict(img_path=path)
    else:
        import mmcv
        img = mmcv.imread(path, channel_order='rgb')
        if img is None:
            raise ValueError(f'Cannot read image {path}.')
        results = dict(img=img, img_path=path, img_shape=img.shape[:2],
                       ori_shape=img.shape[:2])
    packed = pipeline(results)
    if packed is None:
        raise ValueError(f'The test pipeline dropped image {path}.')
    image = packed['inputs'].detach().cpu().numpy()
    image = np.transpose(image, (1, 2, 0)) if image.ndim == 3 else image
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    elif image.ndim == 3 and loads_file:
        image = image[..., ::-1]  # LoadImageFromFile reads BGR
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return packed, np.ascontiguousarray(image)


@contextmanager
def _self_teacher_mode(neck: FRSKDNeck) -> Iterator[None]:
    """Run the neck's teacher branch while all its layers stay in eval."""
    was_training = neck.training
    neck.training = True  # the neck object only: BN keeps running stats
    try:
        yield
    finally:
        neck.training = was_training


def frskd_features(model: nn.Module,
                   inputs: Tensor) -> Tuple[Tuple[Tensor, ...],
                                            Tuple[Tensor, ...]]:
    """Student features F_1..F_n and refined features T_1..T_n.

    Runs without gradients; no parameter or BN statistic of ``model``
    changes. ``model`` should be in eval mode (BN uses running statistics).

    Args:
        model (nn.Module): An FRSKD model with ``backbone`` and an
            :class:`FRSKDNeck` as ``neck``.
        inputs (Tensor): Preprocessed images, shape (N, 3, H, W).

    Returns:
        tuple: ``(student, refined)``, level i of shapes (N, c_i, H_i, W_i)
        and (N, d_i, H_i, W_i).
    """
    neck = getattr(model, 'neck', None)
    if not isinstance(neck, FRSKDNeck):
        raise ValueError('The model has no FRSKDNeck self-teacher (neck is '
                         f'{type(neck).__name__}).')
    with torch.no_grad(), _self_teacher_mode(neck):
        feats = model.backbone(inputs)
        if isinstance(feats, Tensor):
            feats = (feats, )
        out = neck(tuple(feats))
    if not isinstance(out, SelfTeacherFeatures):
        raise RuntimeError('FRSKDNeck did not return the refined features.')
    return tuple(out), tuple(out.refined)


def attention_maps(feats: Sequence[Tensor], size: Tuple[int, int],
                   p: int = 2) -> List[Tensor]:
    """Spatial attention of each level, upsampled to ``size``.

    Args:
        feats (Sequence[Tensor]): Level i of shape (N, C_i, H_i, W_i).
        size (tuple[int, int]): Output (H, W).
        p (int): Power of :func:`spatial_attention`.

    Returns:
        list[Tensor]: Level i of shape (N, H, W): the unit-L2-norm map of
        :func:`spatial_attention`, reshaped to (H_i, W_i) and upsampled
        bilinearly.
    """
    maps = []
    for feat in feats:
        n, _, h, w = feat.shape
        att = spatial_attention(feat.float(), p).view(n, 1, h, w)
        att = F.interpolate(att, size=tuple(size), mode='bilinear',
                            align_corners=False)
        maps.append(att[:, 0])
    return maps


def _attention_power(model: nn.Module) -> int:
    for module in model.modules():
        if isinstance(module, AttentionTransferLoss):
            return module.p
    return 2


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


def compute_rows(model: nn.Module, cfg: Config, images: Sequence[str],
                 classes: Optional[Sequence[str]] = None
                 ) -> List[AttentionRow]:
    """Attention maps of F_i and T_i for each image file.

    Args:
        model (nn.Module): From :func:`build_frskd_model` with weights.
        cfg (Config): Its config (for the test pipeline).
        images (Sequence[str]): Image files.
        classes (Sequence[str], optional): Class names for the captions.

    Returns:
        list[AttentionRow]: One per image.
    """
    pipeline, loads_file = build_image_pipeline(cfg)
    p = _attention_power(model)
    rows = []
    for path in images:
        packed, image = prepare_image(pipeline, loads_file, path)
        with torch.no_grad():
            data = model.data_preprocessor(
                dict(inputs=[packed['inputs']],
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
        if not hasattr(model, 'decode_head'):
            row.caption = _caption(model, student, data['data_samples'][0],
                                   classes)
        rows.append(row)
    return rows


def plot_attention(rows: Sequence[AttentionRow],
                   out: str,
                   cell_size: float = 2.0,
                   dpi: int = 100,
                   overlay: bool = False,
                   cmap: str = 'jet') -> str:
    """Write the figure: one row per image, the input then F_i | T_i pairs.

    The figure is ``(1 + 2 n) * cell_size`` by ``len(rows) * cell_size``
    inches at ``dpi`` (so 100 dpi and 2-inch cells give 200 px per cell).
    The two maps of a level share one colour scale starting at 0: both have
    unit L2 norm over the same H_i x W_i grid, so their colours compare.

    Args:
        rows (Sequence[AttentionRow]): From :func:`compute_rows`.
        out (str): PNG path (folders are created).
        cell_size (float): Inches per panel. Defaults to 2.
        dpi (int): Dots per inch. Defaults to 100.
        overlay (bool): Draw the maps translucent over the image.
        cmap (str): Matplotlib colormap of the maps. Defaults to 'jet'.

    Returns:
        str: ``out``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError('No image to plot.')
    levels = len(rows[0].student)
    cols = 1 + 2 * levels
    fig = Figure(figsize=(cols * cell_size, len(rows) * cell_size), dpi=dpi,
                 layout='constrained')
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), cols, squeeze=False)
    font = dict(fontsize=max(6.0, 4.5 * cell_size))
    for r, row in enumerate(rows):
        gray = dict(cmap='gray') if row.image.ndim == 2 else {}
        axes[r, 0].imshow(row.image, **gray)
        title = row.name if row.caption is None else \
            f'{row.name}\n{row.caption}'
        axes[r, 0].set_title(title, **font)
        for i in range(levels):
            s, t = row.student[i], row.refined[i]
            vmax = float(max(s.max(), t.max(), 1e-12))
            for k, (att, label) in enumerate(((s, 'student'),
                                              (t, 'refined'))):
                ax = axes[r, 1 + 2 * i + k]
                if overlay:
                    ax.imshow(row.image, **gray)
                ax.imshow(att, cmap=cmap, vmin=0.0, vmax=vmax,
                          alpha=0.5 if overlay else 1.0)
                name = 'F' if label == 'student' else 'T'
                ax.set_title(f'{name}_{i + 1} {label}', **font)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out, dpi=dpi, format='png')
    return out


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
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_frskd_config(cfg, name=config)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint} does not exist.')
    model = build_frskd_model(cfg, device)
    meta = load_frskd_checkpoint(model, checkpoint)
    classes = (meta.get('dataset_meta') or {}).get('classes')
    rows = compute_rows(model, cfg, images, classes)
    return plot_attention(rows, out, **plot_kwargs), rows
