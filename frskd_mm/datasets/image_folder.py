"""ImageNet-style folder dataset that fails early with a clear message."""
import os.path as osp

from mmengine.logging import MMLogger
from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.custom import find_folders, get_samples
from frskd_mm.registry import DATASETS

from ..utils.data_checks import is_hidden


@DATASETS.register_module()
class ImageFolder(CustomDataset):
    """``<data_root>/<data_prefix>/<class>/<image>`` (or with ``ann_file``).

    Behaves as MMPretrain's ``CustomDataset`` with two differences:

    - folders and files whose names start with a dot
      (``.ipynb_checkpoints``, ``.DS_Store``, macOS ``._*`` files) are not
      classes or images (``CustomDataset`` makes every sub-folder a class,
      which shifts every label after it);
    - a missing folder or annotation file raises a ``FileNotFoundError``
      that names the expected layout, instead of failing later with an
      empty or unreadable dataset.
    """

    def load_data_list(self):
        if not self.ann_file:
            folder = self.img_prefix
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'Dataset folder {folder!r} does not exist. Expected one '
                    'sub-folder per class with its images, e.g. '
                    f'{osp.join(folder, "<class_name>", "0001.jpg")!r}; '
                    'prepare it (see the README, "Data") or set data_root '
                    'with --cfg-options.')
        elif not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'Annotation file {self.ann_file!r} does not exist; prepare '
                'the dataset (see the README, "Data") or fix ann_file.')
        return super().load_data_list()

    def is_valid_file(self, filename: str) -> bool:
        """An image file with no hidden folder or name in its path."""
        parts = filename.replace('\\', '/').split('/')
        return not any(is_hidden(p) for p in parts) and \
            super().is_valid_file(filename)

    def _find_samples(self):
        """``CustomDataset._find_samples`` with hidden class folders left
        out (upstream's ``find_folders`` lists every folder)."""
        if not self.with_label:
            return super()._find_samples()
        folders, _ = find_folders(self.img_prefix)
        classes = [f for f in folders if not is_hidden(f)]
        folder_to_idx = {name: i for i, name in enumerate(classes)}
        samples, empty = get_samples(self.img_prefix, folder_to_idx,
                                     is_valid_file=self.is_valid_file)
        self.folder_to_idx = folder_to_idx
        if self.CLASSES is not None and len(self.CLASSES) != len(classes):
            raise ValueError(
                f'{self.img_prefix!r} has {len(classes)} class folders '
                f'{classes} but the dataset sets {len(self.CLASSES)} classes '
                '(metainfo / classes); make them agree.')
        if self.CLASSES is None:
            self._metainfo['classes'] = tuple(classes)
        if not samples:
            raise RuntimeError(
                f'Found no image in the class folders of {self.img_prefix!r}'
                f' (extensions: {", ".join(self.extensions)}).')
        if empty:
            MMLogger.get_current_instance().warning(
                f'No image in the class folder(s) {sorted(empty)} of '
                f'{self.img_prefix!r}.')
        return samples
