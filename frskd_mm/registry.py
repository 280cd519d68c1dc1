"""frskd_mm's registries.

A module registers itself once, as in MMPretrain or MMSegmentation::

    from frskd_mm.registry import MODELS

    @MODELS.register_module()
    class MyFeatureLoss(nn.Module):
        ...

and is then found by its plain name from configs of every task
(``default_scope`` ``'mmpretrain'``, ``'mmseg'`` or ``'mmdet'``), and as
``'frskd_mm.MyFeatureLoss'`` from any scope. Each registry here is an
MMEngine registry (scope ``frskd_mm``, child of MMEngine's root) that also
puts every module it registers into the registry of the same kind of each
task package that is installed (:data:`TASK_PACKAGES`); where a task
package has no registry of that kind (``FUNCTIONS``), into MMEngine's root,
which every scope searches. Importing the file that defines the module
registers it; add it to its package's ``__init__`` so that
``import frskd_mm`` (the configs' ``custom_imports``) imports it.
"""
import importlib
from typing import List, Optional, Type, Union

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

from .utils.packages import package_available

#: The packages whose registries receive frskd_mm's modules (if installed).
TASK_PACKAGES = ('mmpretrain', 'mmseg', 'mmdet')


class TaskRegistry(Registry):
    """A registry whose modules are also registered in the task packages.

    Args:
        name (str): Registry name, e.g. ``'model'``.
        parent (Registry): MMEngine's root registry of that kind.
        attribute (str): Its name in ``<package>.registry``, e.g.
            ``'MODELS'``.
        locations (list[str]): Where its modules live (MMEngine imports
            them when a lookup in this scope misses).
    """

    def __init__(self, name: str, parent: Registry, attribute: str,
                 locations: List[str]) -> None:
        super().__init__(
            name, parent=parent, scope='frskd_mm', locations=locations)
        self.attribute = attribute

    def task_registries(self) -> List[Registry]:
        """The registries of this kind in the installed task packages, or
        MMEngine's root registry when none of them has one."""
        found = [
            getattr(
                importlib.import_module(f'{package}.registry'), self.attribute,
                None) for package in TASK_PACKAGES
            if package_available(package)
        ]
        return [r for r in found if r is not None] or [self.parent]

    def _register_module(self,
                         module: Type,
                         module_name: Optional[Union[str, List[str]]] = None,
                         force: bool = False) -> None:
        super()._register_module(module, module_name, force)
        names = module_name or module.__name__
        for name in [names] if isinstance(names, str) else names:
            for registry in self.task_registries():
                existing = registry.module_dict.get(name)
                if existing is module:
                    continue  # registered already (a module reloaded)
                if existing is not None and not force:
                    raise KeyError(
                        f'{registry.name} (scope {registry.scope!r}) already '
                        f'has a different {name} from {existing.__module__};'
                        f' frskd_mm cannot register its own {name} there. '
                        'Rename one of them.')
                registry.register_module(name=name, force=True, module=module)


#: Models: backbones, necks, heads, losses.
MODELS = TaskRegistry('model', MMENGINE_MODELS, 'MODELS', ['frskd_mm.models'])
#: Hooks.
HOOKS = TaskRegistry('hook', MMENGINE_HOOKS, 'HOOKS',
                     ['frskd_mm.engine.hooks'])
#: Datasets and dataset wrappers.
DATASETS = TaskRegistry('dataset', MMENGINE_DATASETS, 'DATASETS',
                        ['frskd_mm.datasets'])
#: Data transforms.
TRANSFORMS = TaskRegistry('transform', MMENGINE_TRANSFORMS, 'TRANSFORMS',
                          ['frskd_mm.datasets.transforms'])
#: Samplers.
DATA_SAMPLERS = TaskRegistry('data sampler', MMENGINE_DATA_SAMPLERS,
                             'DATA_SAMPLERS', ['frskd_mm.datasets.samplers'])
#: Evaluation metrics.
METRICS = TaskRegistry('metric', MMENGINE_METRICS, 'METRICS',
                       ['frskd_mm.evaluation.metrics'])
#: Functions (collate functions); the Runner looks these up in MMEngine's
#: root, which is where they go.
FUNCTIONS = TaskRegistry('function', MMENGINE_FUNCTIONS, 'FUNCTIONS',
                         ['frskd_mm.datasets'])
