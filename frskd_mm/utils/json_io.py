"""The tools' one JSON result writer (benchmark, train speed, study, demo,
GPU check).

Standard library only and without relative imports: tools/gpu_check.py
loads this file by its path, before the OpenMMLab stack (and so the
frskd_mm package) may be importable.
"""
import json
import os
import os.path as osp
from typing import Any


def write_json(path: str, data: Any, indent: int = 2) -> str:
    """Write ``data`` as indented JSON to ``path``, whole or not at all.

    The folder is created if needed; the text goes to ``.<name>.tmp`` beside
    ``path`` first and then replaces ``path`` (``os.replace``), so that a
    run killed while writing never leaves a truncated file under the final
    name (the study reuses the ``result.json`` of finished runs).

    Args:
        path (str): The file to write.
        data: Anything ``json.dump`` accepts.
        indent (int): Indentation. Defaults to 2.

    Returns:
        str: ``path``.
    """
    folder, name = osp.split(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{name}.tmp')
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=indent)
        f.write('\n')
    os.replace(tmp, path)
    return path
