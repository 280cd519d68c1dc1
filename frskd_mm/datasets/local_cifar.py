"""CIFAR datasets read from a local copy, never downloaded."""
import os.path as osp

from mmpretrain.datasets import CIFAR10, CIFAR100
from frskd_mm.registry import DATASETS


class _LocalCIFARMixin:
    """Read the official pickled CIFAR files without checksums or download.

    The files are looked up in ``<data_root>/<base_folder>/``; a missing
    folder or file raises a ``FileNotFoundError`` saying what to put where.
    Checksums are skipped so that subsets and test fixtures in the same
    on-disk format load too.
    """

    def __init__(self, *args, download: bool = False, **kwargs) -> None:
        if download:
            raise ValueError(f'{type(self).__name__} never downloads; use '
                             "mmpretrain's CIFAR datasets for that.")
        super().__init__(*args, download=False, **kwargs)

    def load_data_list(self):
        root = self.data_prefix['root']
        folder = osp.join(root, self.base_folder)
        files = [f for f, _ in self.train_list + self.test_list]
        files.append(self.meta['filename'])
        missing = [f for f in files if not osp.isfile(osp.join(folder, f))]
        if missing:
            raise FileNotFoundError(
                f'{type(self).__name__}: {missing} not found in {folder!r}. '
                f'Download {self.url} and extract it into {root!r} (so that '
                f'{osp.join(folder, files[0])!r} exists), or set '
                'data_root in the config (--cfg-options '
                'train_dataloader.dataset.data_root=...).')
        return super().load_data_list()


@DATASETS.register_module()
class LocalCIFAR10(_LocalCIFARMixin, CIFAR10):
    """CIFAR-10 from ``<data_root>/cifar-10-batches-py``."""
    train_list = [[f, None] for f, _ in CIFAR10.train_list]
    test_list = [[f, None] for f, _ in CIFAR10.test_list]
    meta = dict(CIFAR10.meta, md5=None)


@DATASETS.register_module()
class LocalCIFAR100(_LocalCIFARMixin, CIFAR100):
    """CIFAR-100 from ``<data_root>/cifar-100-python``."""
    train_list = [[f, None] for f, _ in CIFAR100.train_list]
    test_list = [[f, None] for f, _ in CIFAR100.test_list]
    meta = dict(CIFAR100.meta, md5=None)
