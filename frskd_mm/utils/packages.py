"""Whether an optional OpenMMLab package can be imported here.

MMSegmentation and MMDetection are optional (classification needs only
MMPretrain). A
package that is missing is silent; one that is installed but fails to
import (e.g. against an incompatible mmcv) is reported once with a
warning, so that ``import frskd_mm`` keeps working for the other task.
"""
import importlib
import warnings
from typing import Dict, Optional

#: pip requirement of each optional package, for messages.
REQUIREMENTS: Dict[str, str] = {
    'mmpretrain': 'mmpretrain>=1.0.0,<1.3.0',
    'mmseg': 'mmsegmentation>=1.0.0,<1.3.0 (pip install -e ".[seg]")',
    'mmdet': 'mmdet>=3.0.0,<3.4.0 (pip install -e ".[det]")',
}

#: package -> why it cannot be imported (None when it can).
_errors: Dict[str, Optional[str]] = {}


def _import_registry(package: str) -> None:
    importlib.import_module(f'{package}.registry')


def package_available(package: str) -> bool:
    """Whether ``<package>.registry`` imports (checked once per package).

    Args:
        package (str): A top-level OpenMMLab package, e.g. ``'mmseg'``.

    Returns:
        bool: True if it can be used.
    """
    if package not in _errors:
        try:
            _import_registry(package)
            _errors[package] = None
        except ModuleNotFoundError as e:
            _errors[package] = f'{package} is not installed ({e})'
            if not (e.name or '').startswith(package):
                _warn_broken(package, e)
        except Exception as e:  # noqa: BLE001 - any import-time failure
            _errors[package] = (f'{package} failed to import '
                                f'({type(e).__name__}: {e})')
            _warn_broken(package, e)
    return _errors[package] is None


def package_error(package: str) -> Optional[str]:
    """Why ``package`` cannot be used, with the fix; None if it can."""
    if package_available(package):
        return None
    return (f'{_errors[package]}. Install '
            f'{REQUIREMENTS.get(package, package)}.')


def _warn_broken(package: str, e: BaseException) -> None:
    warnings.warn(
        f'{package} is installed but cannot be imported '
        f'({type(e).__name__}: {e}); frskd_mm registers its modules there, '
        'and provides that task, only when it can. Install a compatible '
        f'{REQUIREMENTS.get(package, package)}.',
        stacklevel=3)
