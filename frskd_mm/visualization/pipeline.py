"""Image files through a config's test pipeline, for the figures."""
import copy
from typing import Tuple

import numpy as np
from mmengine.config import Config

from ..utils.dataset_checks import loader_pipeline


def _test_pipeline_cfg(cfg: Config) -> list:
    pipeline = loader_pipeline(cfg, 'test')
    if not pipeline:
        raise ValueError('The config has no test pipeline '
                         '(test_dataloader.dataset.pipeline or '
                         'test_pipeline).')
    return copy.deepcopy(pipeline)


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
        cfg (Config): A loaded config whose task's modules are registered
            (:func:`frskd_mm.apis.load_config`); its transforms are built
            in its ``default_scope``.

    Returns:
        tuple: ``(pipeline, loads_file)``: an ``mmengine.dataset.Compose``
        and whether it reads the image file itself (BGR, as
        ``LoadImageFromFile`` does).
    """
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    pipeline = [
        t for t in _test_pipeline_cfg(cfg)
        if not _type_name(t).endswith('LoadAnnotations')
    ]
    loads_file = any(
        _type_name(t).endswith('LoadImageFromFile') for t in pipeline)
    # The transforms are looked up in the config's scope, whatever the
    # current default scope is.
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
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
        results = dict(
            img=img,
            img_path=path,
            img_shape=img.shape[:2],
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
