"""Finding and loading the repository's configs, shared by the config tests
of this folder (pytest puts the folder on ``sys.path``)."""
import copy
import functools
import os.path as osp
import re

from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


def config_id(path: str) -> str:
    """``<folder>/<name>`` of a config under configs/, e.g.
    ``frskd/resnet18_cifar100``."""
    return osp.relpath(path, CONFIG_DIR)[:-3]


@functools.lru_cache(maxsize=None)
def cached_config(path: str) -> Config:
    """The config at ``path``, parsed once per session, its custom_imports
    done. Shared: read it, do not modify it (see :func:`load`)."""
    cfg = Config.fromfile(path)
    if 'custom_imports' in cfg:
        import_modules_from_strings(**cfg.custom_imports)
    return cfg


def load(path: str) -> Config:
    """The config at ``path`` (a private copy), its custom_imports done."""
    return copy.deepcopy(cached_config(path))


_LOCAL_BASE = re.compile(r"""['"](\.{1,2}/[^'"]+\.py)['"]""")


def mentions(path: str, word: str, seen: frozenset = frozenset()) -> bool:
    """Whether the config at ``path`` or a local config it names (a
    ``'./x.py'`` or ``'../_base_/x.py'`` string) contains ``word``.

    A cheap text filter that spares loading every config; ``seen`` stops a
    file that names itself (in a comment, say) from recursing forever.
    """
    if path in seen or not osp.isfile(path):
        return False
    with open(path) as f:
        text = f.read()
    return word in text or any(
        mentions(
            osp.normpath(osp.join(osp.dirname(path), base)), word, seen
            | {path}) for base in _LOCAL_BASE.findall(text))


def stable_recipe_hook() -> dict:
    """``stable_frskd_hook`` of configs/_base_/frskd_stable_recipe.py: the
    FRSKDHook every stable-recipe config uses."""
    return load(
        osp.join(CONFIG_DIR, '_base_',
                 'frskd_stable_recipe.py')).stable_frskd_hook.to_dict()
