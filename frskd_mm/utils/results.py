"""Reading a run's final metric and summarising runs over seeds.

Shared by ``tools/demo.py`` and ``tools/analysis_tools/frskd_study.py``.
"""
import math
from typing import Dict, List, Sequence, Tuple

from .logs import find_scalar_logs, load_scalars, strip_prefix


def last_logged(work_dir: str, key: str) -> float:
    """The last value of ``key`` in the newest ``scalars.json`` of a work
    directory (MMEngine writes one ``<timestamp>/vis_data/scalars.json``
    per launch; read by :func:`frskd_mm.utils.logs.load_scalars`, so
    ``val/``/``train/`` prefixes do not matter).

    The validation records are searched first, then the training records;
    the one with the highest ``step`` holding ``key`` gives its value.

    Raises:
        FileNotFoundError: No MMEngine log in ``work_dir``.
        KeyError: ``key`` was never logged in the newest log.
    """
    path = find_scalar_logs(work_dir)[-1]
    key = strip_prefix(key)
    scalars = load_scalars(path)
    for records in (scalars['val'], scalars['train']):
        values = [r[key] for r in records if key in r]
        if values:
            return values[-1]
    raise KeyError(f'{key} was never logged in {path}.')


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    from scipy.stats import t
    return float(t.ppf(0.975, df))


def paired_difference(values: Sequence[float],
                      reference: Sequence[float]) -> Dict[str, object]:
    """Per-seed differences ``values - reference`` and their mean, sample
    std and two-sided 95 % t-interval of the mean.

    Args:
        values (Sequence[float]): One arm's metric, one per seed.
        reference (Sequence[float]): The reference arm's metric at the same
            seeds (same data subset and initialisation seed).

    Returns:
        dict: ``diffs``, ``mean``, ``std`` and ``ci95`` (``[low, high]``;
        ``None`` with fewer than two seeds).
    """
    if len(values) != len(reference):
        raise ValueError('paired_difference needs one value per seed in both '
                         f'arms, got {len(values)} and {len(reference)}.')
    diffs: List[float] = [v - r for v, r in zip(values, reference)]
    mean, std = mean_std(diffs)
    ci95 = None
    if len(diffs) > 1:
        half = t_quantile_975(len(diffs) - 1) * std / math.sqrt(len(diffs))
        ci95 = [mean - half, mean + half]
    return dict(diffs=diffs, mean=mean, std=std, ci95=ci95)
