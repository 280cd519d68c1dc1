"""What was measured, and where: the code's fingerprint and the machine."""
import contextlib
import glob
import hashlib
import os
import os.path as osp
import platform
import subprocess
from typing import Any, Dict, List, Optional

import torch
from mmengine.utils import get_git_hash

#: The frskd_mm package folder and the checkout holding it.
PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOT = osp.dirname(PACKAGE)


def tree_sha1(folder: str, relative_to: str = PACKAGE) -> str:
    """SHA-1 of the paths (relative to ``relative_to``) and contents of the
    ``*.py`` files under ``folder``, in sorted order."""
    digest = hashlib.sha1()
    for path in sorted(
            glob.glob(osp.join(folder, '**', '*.py'), recursive=True)):
        digest.update(osp.relpath(path, relative_to).encode())
        with open(path, 'rb') as f:
            digest.update(f.read())
    return digest.hexdigest()


def source_fingerprint() -> Dict[str, Any]:
    """Which frskd_mm code was measured.

    Returns:
        dict: ``models_sha1`` (:func:`tree_sha1` of ``frskd_mm/models``,
        tells apart before/after figures of an optimisation),
        ``git_commit`` (:func:`mmengine.utils.get_git_hash` of the
        checkout; None outside a git checkout) and, in a checkout,
        ``frskd_mm_changes`` (``git status --porcelain`` lines of
        ``frskd_mm/``: the uncommitted changes).
    """
    info: Dict[str,
               Any] = dict(models_sha1=tree_sha1(osp.join(PACKAGE, 'models')))
    with contextlib.chdir(ROOT):
        info['git_commit'] = get_git_hash(fallback='') or None
    if info['git_commit']:
        try:
            status = subprocess.run(
                ['git', 'status', '--porcelain', '--', 'frskd_mm'],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=10,
                check=True).stdout
            info['frskd_mm_changes'] = [
                line.strip() for line in status.splitlines() if line.strip()
            ]
        except (OSError, subprocess.SubprocessError):
            pass
    return info


def load_average() -> Optional[List[float]]:
    """The 1, 5 and 15 minute load averages (None where unknown)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def device_name(device: torch.device) -> str:
    """The GPU's name, else the processor's (``'cpu'`` if unknown)."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return platform.processor() or 'cpu'
