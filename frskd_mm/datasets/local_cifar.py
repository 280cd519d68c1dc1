"""CIFAR datasets read from a local copy, never downloaded."""
from mmpretrain.datasets import CIFAR10, CIFAR100

from frskd_mm.registry import DATASETS


class _LocalCIFARMixin:
    """Read the official pickled CIFAR files without checksums, never
    downloading.

    Why a subclass and not MMPretrain's ``CIFAR10``/``CIFAR100`` in the
    configs: those differ in behaviour, not only in messages. They verify
    the md5 of every file, so subsets and test fixtures in the official
    on-disk format fail to load, and they default to ``download=True``,
    which goes to the network when a file is absent. These read the same
    files the same way with the md5 entries set to None (which the
    upstream integrity check accepts) and refuse ``download=True``.

    Missing files are reported before the dataset is built, by
    :func:`frskd_mm.utils.dataset_checks.check_dataset_configs` (run by
    ``tools/train.py`` and ``tools/test.py``); built directly, a missing
    file gives MMPretrain's own error.
    """

    def __init__(self, *args, download: bool = False, **kwargs) -> None:
        if download:
            raise ValueError(
                f'{type(self).__name__} never downloads: download '
                f'{self.url} and extract it into data_root, or use '
                f"mmpretrain's {type(self).__name__[len('Local'):]} "
                '(download=True) instead.')
        super().__init__(*args, download=False, **kwargs)


@DATASETS.register_module()
class LocalCIFAR10(_LocalCIFARMixin, CIFAR10):
    """CIFAR-10 from ``<data_root>/cifar-10-batches-py`` (no md5, no
    download; see ``_LocalCIFARMixin``)."""
    train_list = [[f, None] for f, _ in CIFAR10.train_list]
    test_list = [[f, None] for f, _ in CIFAR10.test_list]
    meta = dict(CIFAR10.meta, md5=None)


@DATASETS.register_module()
class LocalCIFAR100(_LocalCIFARMixin, CIFAR100):
    """CIFAR-100 from ``<data_root>/cifar-100-python`` (no md5, no
    download; see ``_LocalCIFARMixin``)."""
    train_list = [[f, None] for f, _ in CIFAR100.train_list]
    test_list = [[f, None] for f, _ in CIFAR100.test_list]
    meta = dict(CIFAR100.meta, md5=None)
