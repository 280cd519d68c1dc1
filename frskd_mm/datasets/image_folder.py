"""ImageNet-style folder dataset that fails early with a clear message."""
import os.path as osp

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class ImageFolder(CustomDataset):
    """``<data_root>/<data_prefix>/<class>/<image>`` (or with ``ann_file``).

    Behaves as MMPretrain's ``CustomDataset``; when the folder is absent it
    raises a ``FileNotFoundError`` that names the expected layout instead of
    failing later with an empty or unreadable dataset.
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
