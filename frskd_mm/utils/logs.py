"""Reading MMEngine's ``scalars.json`` logs: the one reader of the tools.

MMEngine's ``LocalVisBackend`` writes one
``<work_dir>/<timestamp>/vis_data/scalars.json`` per launch: one JSON
object per line, training records (every ``LoggerHook`` interval; ``step``
is the global iteration) and validation records (``step`` is the epoch for
epoch-based loops, else the iteration). :func:`load_scalars` returns them
split as MMPretrain's ``mmpretrain.utils.analyze.load_json_log`` does
(``dict(train=[...], val=[...])``), but also for the logs that function
cannot read: keys written with ``log_with_hierarchy`` (``train/lr``,
``val/mIoU``; the prefixes are removed), training records without ``lr``,
blank lines, and the cut-off last line of a run killed while writing.
"""
import glob
import json
import os.path as osp
from typing import Dict, List

#: Prefixes of ``log_with_hierarchy`` keys, removed by :func:`load_scalars`.
PREFIXES = ('train/', 'val/')


def find_scalar_logs(work_dir: str) -> List[str]:
    """The scalars.json files of ``work_dir``, oldest launch first.

    Args:
        work_dir (str): A training work dir, one ``<timestamp>`` folder of
            it, or a scalars.json file.

    Returns:
        list[str]: Paths, sorted by timestamp folder name.

    Raises:
        FileNotFoundError: If ``work_dir`` does not exist or holds no log.
    """
    if osp.isfile(work_dir):
        return [work_dir]
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'No MMEngine log: {work_dir} does not exist.')
    own = osp.join(work_dir, 'vis_data', 'scalars.json')
    if osp.isfile(own):
        return [own]
    logs = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise FileNotFoundError(
            f'No MMEngine log in {work_dir}: expected '
            f'{osp.join(work_dir, "<timestamp>", "vis_data", "scalars.json")}'
            ', which the Runner writes while training (LocalVisBackend, '
            'on by default in the configs). Pass the work dir of a '
            'training run.')
    return logs


def read_records(path: str) -> List[dict]:
    """The records of one scalars.json as written, in file order.

    Blank lines are skipped, and so is a last line that is not valid JSON
    (a run killed while writing it).

    Raises:
        ValueError: If another line is not a JSON object.
    """
    with open(path) as f:
        lines = [(n, line.strip()) for n, line in enumerate(f, 1)]
    lines = [(n, line) for n, line in lines if line]
    records = []
    for i, (n, line) in enumerate(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if i == len(lines) - 1 and i > 0:
                break  # a killed run can leave its last line cut short
            raise ValueError(f'{path}:{n} is not a JSON record ({e}); is '
                             'it an MMEngine scalars.json?') from e
        if not isinstance(record, dict):
            raise ValueError(f'{path}:{n} is not a JSON object; is it an '
                             'MMEngine scalars.json?')
        records.append(record)
    return records


def strip_prefix(key: str) -> str:
    """``key`` without a ``train/`` or ``val/`` prefix."""
    for prefix in PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def is_train_record(record: dict) -> bool:
    """Whether a (prefix-free) record was logged in training: it has the
    learning rate (MMPretrain's test), the iteration or a loss."""
    return 'lr' in record or 'iter' in record or any(
        k.startswith('loss') or '.loss' in k for k in record)


def load_scalars(path: str) -> Dict[str, List[dict]]:
    """Training and validation records of one scalars.json.

    Args:
        path (str): A scalars.json (one JSON object per line).

    Returns:
        dict: ``train`` and ``val``, lists of records with the
        ``train/``/``val/`` prefixes removed from their keys, each sorted
        by ``step``; records of one step are merged, later values winning
        (a step logged twice keeps its last values). Records without
        ``step`` are left out.
    """
    split: Dict[str, Dict[float, dict]] = dict(train={}, val={})
    for raw in read_records(path):
        record = {strip_prefix(k): v for k, v in raw.items()}
        if 'step' not in record:
            continue
        mode = 'train' if is_train_record(record) else 'val'
        split[mode].setdefault(record['step'], {}).update(record)
    return {
        mode: [records[k] for k in sorted(records)]
        for mode, records in split.items()
    }
