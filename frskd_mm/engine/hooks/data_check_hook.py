"""Hook that stops a run whose data would give silently wrong numbers."""
import os.path as osp
from typing import Iterator, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from frskd_mm.registry import HOOKS
from ...utils.data_checks import (class_list_difference, first_size_mismatch,
                                  invalid_label_values, is_hidden)


@HOOKS.register_module()
class DataCheckHook(Hook):
    """Check the data sets against each other and the labels against the
    classes, with errors that name the file and the fix.

    - Before training: the validation set must list the training set's
      classes in the same order (a label is a position in that list; a
      hidden folder that became a class is named as such); for
      segmentation every label map must have its image's size (a mismatch
      is otherwise padded or cropped away silently). Sizes come from the
      file headers (about 1.2 s per 10,000 pairs here).
    - Before testing: the test set's classes must be those the checkpoint
      was trained on (its ``meta['dataset_meta']``), and label maps must
      match their images as above.
    - Before every training, validation and test iteration: each label must
      lie in ``[0, num_classes)`` or be the decode head's ``ignore_index``
      (default 255); an out-of-range value otherwise stops training with an
      index error, or is silently left out of the mIoU.

    ``tools/train.py`` and ``tools/test.py`` add it to every run.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._checkpoint_classes: Optional[List[str]] = None
        self._label_range: dict = {}  # dataloader id -> (classes, ignore)

    def before_train(self, runner) -> None:
        train = runner.train_dataloader.dataset
        _check_seg_sizes(train, 'train_dataloader')
        if runner.val_loop is None:
            return
        val = runner.val_dataloader.dataset
        _check_classes(
            _classes(train), 'train_dataloader', _classes(val),
            'val_dataloader')
        _check_seg_sizes(val, 'val_dataloader')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = (checkpoint.get('meta') or {}).get('dataset_meta') or {}
        classes = meta.get('classes')
        self._checkpoint_classes = None if classes is None else list(classes)

    def before_test(self, runner) -> None:
        test = runner.test_dataloader.dataset
        if self._checkpoint_classes is not None:
            _check_classes(
                self._checkpoint_classes, 'the checkpoint '
                "(meta['dataset_meta'], its training set)", _classes(test),
                'test_dataloader')
        _check_seg_sizes(test, 'test_dataloader')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self._check_labels(runner, data_batch, runner.train_dataloader)

    def before_val_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Optional[dict] = None) -> None:
        self._check_labels(runner, data_batch, runner.val_dataloader)

    def before_test_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None) -> None:
        self._check_labels(runner, data_batch, runner.test_dataloader)

    def _check_labels(self, runner, data_batch, dataloader) -> None:
        samples = (data_batch or {}).get('data_samples') or []
        if id(dataloader) not in self._label_range:
            classes = _classes(dataloader.dataset)
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            head = getattr(model, 'decode_head', None)
            self._label_range[id(dataloader)] = (None if classes is None else
                                                 len(classes),
                                                 getattr(
                                                     head, 'ignore_index',
                                                     255))
        num_classes, ignore = self._label_range[id(dataloader)]
        if num_classes is None:
            return
        for sample in samples:
            label = _label_of(sample)
            if label is None:
                continue
            bad = invalid_label_values(label, num_classes, ignore)
            if bad:
                path = sample.metainfo.get('seg_map_path') or \
                    sample.metainfo.get('img_path') or '<unnamed sample>'
                raise ValueError(
                    f'Label value(s) {bad} in {path} are outside the '
                    f'{num_classes} classes [0, {num_classes - 1}] of the '
                    f'dataset and are not ignore_index={ignore}. Fix the '
                    "labels, the dataset's classes (metainfo) or the decode "
                    "head's ignore_index (with reduce_zero_label, 0 becomes "
                    '255 and every other label drops by one).')


def _label_of(sample):
    if 'gt_sem_seg' in sample:
        return sample.gt_sem_seg.data
    if 'gt_label' in sample:
        return sample.gt_label
    return None


def _classes(dataset) -> Optional[List[str]]:
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    return None if classes is None else list(classes)


def _check_classes(reference: Optional[Sequence[str]], reference_name: str,
                   other: Optional[Sequence[str]], other_name: str) -> None:
    if reference is None or other is None:
        return
    difference = class_list_difference(reference, other)
    if difference:
        hidden = [
            c for c in list(reference) + list(other) if is_hidden(str(c))
        ]
        hint = (f' The hidden folder(s) {sorted(set(hidden))} became '
                "classes (MMPretrain's CustomDataset makes every sub-folder "
                'a class): delete or move them.' if hidden else '')
        raise ValueError(
            f'The classes of {other_name} differ from those of '
            f'{reference_name}: {difference}. Labels are positions in the '
            'class list, so every split must list the same classes in the '
            'same order: give each split the same class folders, or set the '
            f'same metainfo=dict(classes=[...]) in every dataset.{hint}')


def _leaf_datasets(dataset) -> Iterator:
    """The datasets under MMEngine's wrappers (and ours)."""
    inner = getattr(dataset, 'datasets', None)
    if inner is not None:
        for d in inner:
            yield from _leaf_datasets(d)
        return
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        yield from _leaf_datasets(inner)
        return
    yield dataset


def _check_seg_sizes(dataset, dataloader_name: str) -> None:
    for leaf in _leaf_datasets(dataset):
        if not hasattr(leaf, 'get_data_info'):
            continue
        pairs = []
        for i in range(len(leaf)):
            info = leaf.get_data_info(i)
            img, seg = info.get('img_path'), info.get('seg_map_path')
            if not (img and seg and osp.isfile(img) and osp.isfile(seg)):
                break  # not a local segmentation set
            pairs.append((img, seg))
        found = first_size_mismatch(pairs)
        if found:
            img, seg, (iw, ih), (sw, sh) = found
            raise ValueError(
                f'{dataloader_name}: label map {seg} is {sw}x{sh} but its '
                f'image {img} is {iw}x{ih} (width x height). Training or '
                'testing on it would pad or crop the labels silently; fix '
                'or remove the pair (label maps must be the size of their '
                'images).')
