"""What frskd_mm needs to know about an OpenMMLab task, in one place.

Each task (classification on MMPretrain, segmentation on MMSegmentation,
detection on MMDetection) has one :class:`TaskAdapter` subclass; the tools,
the export and the analysis code ask the adapter of a config
(:func:`frskd_mm.tasks.get_task`) instead of comparing task names. Adding a
task is one more subclass registered in :data:`frskd_mm.tasks.TASKS`.
"""
import importlib
from argparse import Namespace
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict

from ..utils.config_types import config_type_name
from ..utils.packages import REQUIREMENTS

#: State-dict prefix of the student's own neck inside ``FRSKDNeck``
#: (``model.neck.neck``); the deployed student has it as ``neck.*``.
INNER_NECK_PREFIX = 'neck.neck.'


class TaskAdapter:
    """The task-specific facts and behaviour of frskd_mm.

    Class attributes (set by each task):

    - ``name``: the task, e.g. ``'classification'``;
    - ``scope``: the OpenMMLab package and ``default_scope``, e.g.
      ``'mmpretrain'``;
    - ``head_key``: the model's FRSKD head, as config key and attribute
      (``'head'``, ``'decode_head'``);
    - ``frskd_head``: the type name of that head;
    - ``training_only_prefixes``: state-dict prefixes that only training
      uses (the self-teacher and the distillation modules);
    - ``student_renames``: prefix renames from the FRSKD model's state dict
      to the plain student's;
    - ``plain_datasets``: frskd_mm dataset type -> the upstream type that a
      plain install reads it with (export);
    - ``init_api``: the function of ``<scope>.apis`` that loads a config and
      checkpoint (``init_model``, MMDetection's ``init_detector``).
    """

    name: str = ''
    scope: str = ''
    head_key: str = 'head'
    frskd_head: str = ''
    training_only_prefixes: Tuple[str, ...] = ('neck.', )
    student_renames: Dict[str, str] = {}
    plain_datasets: Dict[str, str] = {}
    init_api: str = 'init_model'

    # ------------------------------------------------------------------
    # Setup
    # ------------------------------------------------------------------
    def setup(self) -> None:
        """Register all modules of the task's package in its registries
        (without changing the default scope; the Runner sets it).

        Raises:
            ImportError: If the package is not installed, saying what to
                install.
        """
        try:
            utils = importlib.import_module(f'{self.scope}.utils')
        except ImportError as e:
            raise ImportError(
                f'The config has default_scope={self.scope!r} ({self.name}),'
                f' but `{self.scope}` cannot be imported ({e}). Install '
                f'{REQUIREMENTS.get(self.scope, self.scope)}.') from e
        utils.register_all_modules(init_default_scope=False)

    # ------------------------------------------------------------------
    # Models
    # ------------------------------------------------------------------
    def build_model(self, cfg: Config) -> nn.Module:
        """Build ``cfg.model`` (weights not loaded) with the task package's
        own model API, in eval mode on the CPU."""
        raise NotImplementedError

    def head(self, model: nn.Module) -> nn.Module:
        """The model's (FRSKD or plain) head."""
        return getattr(model, self.head_key)

    def num_classes(self, model: nn.Module) -> int:
        """Classes the student predicts."""
        return int(self.head(model).num_classes)

    @property
    def frskd_heads(self) -> Tuple[str, ...]:
        """Every FRSKD head type of the task; ``frskd_head`` unless a task
        has more."""
        return (self.frskd_head, )

    def is_frskd_config(self, cfg: Config) -> bool:
        """Whether ``cfg.model`` has one of the task's FRSKD heads
        (``frskd_heads``)."""
        head = (cfg.get('model', None) or {}).get(self.head_key, None)
        return config_type_name(head) in self.frskd_heads

    def is_exportable_config(self, cfg: Config) -> bool:
        """Whether ``cfg`` trains parts that its deployed model drops (what
        export accepts): FRSKD configs, and what a task adds."""
        return self.is_frskd_config(cfg)

    @property
    def export_hint(self) -> str:
        """The exportable configs, for messages."""
        return f"model.{self.head_key}.type == '{self.frskd_head}'"

    def student_model_config(self, model: dict) -> dict:
        """Turn the FRSKD ``model`` config (a plain dict, edited in place)
        into that of the deployed student; return it."""
        raise NotImplementedError

    def student_state_dict(self, state_dict: Dict) -> Dict:
        """Drop the training-only tensors, rename the student's (the inner
        neck ``neck.neck.*`` becomes ``neck.*``)."""
        student = {}
        for key, value in state_dict.items():
            if key.startswith(INNER_NECK_PREFIX):
                # The student's own neck, wrapped by FRSKDNeck.
                student['neck.' + key[len(INNER_NECK_PREFIX):]] = value
                continue
            if key.startswith(self.training_only_prefixes):
                continue
            for old, new in self.student_renames.items():
                if key.startswith(old):
                    key = new + key[len(old):]
            student[key] = value
        return student

    def plain_dataset_defaults(self, type_name: str) -> Dict:
        """Arguments that an upstream dataset type needs to read one of
        ours (see ``plain_datasets``)."""
        return {}

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    def input_size(self, cfg: Config) -> Optional[Tuple[int, int]]:
        """The training input size fixed by task-specific config keys, or
        None (then the training pipeline decides)."""
        return None

    def set_input_size(self, cfg: Config, size: Tuple[int, int]) -> None:
        """Make the config's model accept inputs of ``size``."""

    def make_batch(self, batch_size: int, size: Tuple[int, int],
                   num_classes: int, generator: torch.Generator) -> dict:
        """A random batch as the dataloader gives it (before the data
        preprocessor): uint8 images and labels in ``[0, num_classes)``."""
        raise NotImplementedError

    def dataloader_defaults(self, training: bool) -> ConfigDict:
        """Defaults that the task's own tools give every dataloader."""
        return ConfigDict()

    # ------------------------------------------------------------------
    # tools/test.py
    # ------------------------------------------------------------------
    def configure_test(self, cfg: Config, args: Namespace) -> None:
        """Apply ``--show``, ``--show-dir``, ``--tta`` and ``--out`` to the
        config as the task package's own test tool does."""

    def configure_test_runner(self, runner, args: Namespace) -> None:
        """What the task's test tool does to the built runner."""


def random_images_and_labels(
    batch_size: int,
    size: Tuple[int, int],
    num_classes: int,
    generator: torch.Generator,
    label_shape: Tuple[int, ...] = ()
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Random images and labels for :meth:`TaskAdapter.make_batch`, drawn
    from ``generator`` in that order.

    Args:
        batch_size (int): N.
        size (tuple[int, int]): ``(H, W)`` of the images.
        num_classes (int): Labels are drawn from ``[0, num_classes)``.
        generator (torch.Generator): The random stream.
        label_shape (tuple[int, ...]): Shape of one image's label: ``()``
            for an image label, ``(1, H, W)`` for a label map.

    Returns:
        tuple[Tensor, Tensor]: uint8 images (N, 3, H, W) with values in
        [0, 255] and int64 labels (N, *label_shape).
    """
    h, w = size
    images = torch.randint(
        0, 256, (batch_size, 3, h, w), generator=generator, dtype=torch.uint8)
    labels = torch.randint(
        0, num_classes, (batch_size, *label_shape), generator=generator)
    return images, labels


def visualization_hook(cfg: Config, example: str) -> ConfigDict:
    """``default_hooks.visualization`` of ``cfg``, with a clear error."""
    hooks = cfg.get('default_hooks', None) or {}
    if 'visualization' not in hooks:
        raise ValueError(
            '--show/--show-dir need a visualization hook: add '
            f'default_hooks.visualization={example} to the config.')
    return hooks['visualization']
