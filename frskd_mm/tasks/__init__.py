"""One adapter per OpenMMLab task; the config's ``default_scope`` picks it.

>>> task = get_task(cfg)  # ClassificationTask, SegmentationTask, DetectionTask
>>> task.setup()  # register the task package's modules
>>> model = task.build_model(cfg)

To add a task, subclass :class:`TaskAdapter` and add it to :data:`TASKS`.
"""
from typing import Dict

from mmengine.config import Config

from .base import TaskAdapter
from .classification import ClassificationTask
from .detection import DetectionTask
from .segmentation import SegmentationTask

#: ``default_scope`` -> the task's adapter.
TASKS: Dict[str, TaskAdapter] = {
    task.scope: task
    for task in (ClassificationTask(), SegmentationTask(), DetectionTask())
}


def get_task(cfg: Config) -> TaskAdapter:
    """The adapter of ``cfg``'s task, read from its ``default_scope``.

    Raises:
        ValueError: If ``default_scope`` is missing or not supported.
    """
    scope = cfg.get('default_scope', None)
    if scope is None:
        raise ValueError(
            'The config has no `default_scope`, so the task cannot be told. '
            'Add ' + ' or '.join(f"`default_scope = '{s}'` ({t.name})"
                                 for s, t in TASKS.items()) +
            " to it, or inherit the task's default_runtime.py base config.")
    if scope not in TASKS:
        raise ValueError(
            f'Unsupported default_scope {scope!r} in the config; frskd_mm '
            'supports ' + ', '.join(f'{s!r} ({t.name})'
                                    for s, t in TASKS.items()) + '.')
    return TASKS[scope]


__all__ = [
    'ClassificationTask', 'DetectionTask', 'SegmentationTask', 'TASKS',
    'TaskAdapter', 'get_task'
]
