"""Shared fixtures: small FRSKD classifiers built like the configs do, the
data writers of the tests (CIFAR-100 batches, digit canvases), and the
``device`` / ``amp_dtype`` / ``autocast`` fixtures of the tests that also
run on CUDA and under automatic mixed precision."""
import contextlib
import importlib.util
import os
import os.path as osp
import types
import warnings

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope, init_default_scope
from mmengine_cache import cache_mmengine_config_work
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from mmpretrain.utils import register_all_modules

import frskd_mm  # noqa: F401

cache_mmengine_config_work()
register_all_modules(init_default_scope=True)

# Under pytest-xdist (``make test``: one worker per core) each worker's torch
# gets its share of the cores, so that the workers do not oversubscribe them.
if os.environ.get('PYTEST_XDIST_WORKER_COUNT'):
    torch.set_num_threads(
        max(1, (os.cpu_count() or 1) //
            int(os.environ['PYTEST_XDIST_WORKER_COUNT'])))

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: Why the CUDA cases skip on a machine without a GPU.
NO_CUDA = ('CUDA is not available (torch.cuda.is_available() is False); '
           'the cuda case runs on a GPU machine: pytest -m cuda')


@pytest.fixture(autouse=True)
def mmpretrain_default_scope():
    """Each test starts in MMPretrain's default scope, as this module sets
    it, whatever the test before left (MMSeg's and MMDetection's runners and
    ``init_model`` set their own scope for the whole process)."""
    yield
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mmpretrain':
        init_default_scope('mmpretrain')


def device_params() -> list:
    """``'cpu'`` and ``'cuda'`` for ``pytest.mark.parametrize``: the cuda
    case carries the ``cuda`` marker (``pytest -m cuda`` selects exactly
    the CUDA cases) and skips, with :data:`NO_CUDA`, without a GPU."""
    return [
        'cpu',
        pytest.param(
            'cuda',
            marks=[
                pytest.mark.cuda,
                pytest.mark.skipif(
                    not torch.cuda.is_available(), reason=NO_CUDA)
            ])
    ]


@contextlib.contextmanager
def exact_fp32(device: torch.device):
    """On CUDA, no TF32 in convolutions and matmuls (PyTorch enables it for
    cuDNN convolutions by default), so that float32 results are as precise
    as the CPU's and the value tests keep their tolerances; nothing on the
    CPU."""
    if device.type != 'cuda':
        yield
        return
    flags = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        (torch.backends.cudnn.allow_tf32,
         torch.backends.cuda.matmul.allow_tf32) = flags


@pytest.fixture(params=device_params())
def device(request):
    """``torch.device('cpu')``, and ``torch.device('cuda')`` where CUDA is
    available (marked ``cuda``); on CUDA, float32 without TF32 (see
    :func:`exact_fp32`)."""
    dev = torch.device(request.param)
    with exact_fp32(dev):
        yield dev


#: The autocast dtypes of the AMP tests.
AMP_DTYPES = [
    pytest.param(torch.bfloat16, id='bf16'),
    pytest.param(torch.float16, id='fp16')
]


def autocast_skip_reason(device: torch.device, dtype: torch.dtype):
    """Why ``torch.autocast(device.type, dtype)`` cannot run here, or None:
    a GPU without bfloat16, or a torch whose CPU autocast does not cast a
    convolution to ``dtype`` (float16 on CPU came with torch 2.x)."""
    if device.type == 'cuda' and dtype == torch.bfloat16 and \
            not torch.cuda.is_bf16_supported():
        return f'{torch.cuda.get_device_name()} has no bfloat16.'
    x = torch.ones(1, 1, 2, 2, device=device)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # "autocast ... disabled"
            with torch.autocast(device.type, dtype=dtype):
                got = F.conv2d(x, x[:, :, :1, :1]).dtype
    except RuntimeError as e:
        return f'torch {torch.__version__}: autocast on {device.type} ' \
               f'with {dtype}: {e}'
    if got != dtype:
        return (f'torch {torch.__version__} does not autocast conv2d to '
                f'{dtype} on {device.type} (it gave {got}).')
    return None


@pytest.fixture(params=AMP_DTYPES)
def amp_dtype(request):
    return request.param


@pytest.fixture
def autocast(device, amp_dtype):
    """``autocast()``: a ``torch.autocast`` context on ``device`` with
    ``amp_dtype``; the test skips, with the reason, where that combination
    does not exist (:func:`autocast_skip_reason`)."""
    reason = autocast_skip_reason(device, amp_dtype)
    if reason is not None:
        pytest.skip(reason)
    return lambda: torch.autocast(device.type, dtype=amp_dtype)


def load_tool(path: str):
    """Import a script of the repository (e.g. ``'tools/train.py'``) as a
    module, to call its functions (``main(argv)``) in the test process."""
    name = 'frskd_tool_' + osp.splitext(path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frskd_classifier_cfg(num_classes: int = 5,
                         alpha: float = 2.0,
                         beta: float = 100.0,
                         **head) -> dict:
    """A WRN-16-2 FRSKD classifier, as configs/frskd/wrn16_2_cifar100.py."""
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type='WideResNetCIFAR',
            depth=16,
            widen_factor=2,
            out_indices=(0, 1, 2)),
        neck=dict(
            type='FRSKDNeck',
            in_channels=[32, 64, 128],
            width=2,
            depth=2,
            num_classes=num_classes),
        head=dict(
            type='FRSKDClsHead',
            num_classes=num_classes,
            in_channels=128,
            alpha=alpha,
            beta=beta,
            temperature=4.0,
            **head))


def sla_classifier_cfg(frskd: bool = True, num_classes: int = 5, **kwargs):
    """:func:`frskd_classifier_cfg`'s WRN-16-2 as FRSKD + SLA (the refined
    T_3 has 2 x 128 channels), or as SLA-SD (GAP + SLAClsHead), as
    configs/{frskd,baseline}/wrn16_2_cifar100_sla.py."""
    cfg = frskd_classifier_cfg(num_classes)
    cfg['type'] = 'SLAImageClassifier'
    if frskd:
        cfg['head'].update(type='FRSKDSLAClsHead', teacher_in_channels=256)
    else:
        cfg['backbone']['out_indices'] = (2, )
        cfg['neck'] = dict(type='GlobalAveragePooling')
        cfg['head'] = dict(
            type='SLAClsHead', num_classes=num_classes, in_channels=128)
    cfg.update(kwargs)
    return cfg


def seg_samples(labels: torch.Tensor) -> list:
    """SegDataSamples with ``gt_sem_seg`` from (N, H, W) int labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for label in labels:
        sample = SegDataSample(gt_sem_seg=PixelData(data=label[None].long()))
        h, w = label.shape
        sample.set_metainfo(
            dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return samples


def with_frskd_hook(model):
    """What the Runner does with FRSKDHook before the first iteration."""
    from frskd_mm.engine.hooks import FRSKDHook
    FRSKDHook().before_train(types.SimpleNamespace(model=model))
    return model


@pytest.fixture
def build_frskd():

    def build(**kwargs):
        torch.manual_seed(0)
        model = MODELS.build(frskd_classifier_cfg(**kwargs))
        model.init_weights()
        return model

    return build


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(4, 3, 32, 32, generator=g)
    samples = [DataSample().set_gt_label(i % 5) for i in range(4)]
    return inputs, samples


def write_cifar100(root,
                   num_train: int = 32,
                   num_test: int = 16,
                   seed: int = 0) -> str:
    """Write a tiny CIFAR-100 in the official pickle format.

    Creates ``<root>/cifar-100-python/{train,test,meta}`` as the real
    archive has them (protocol-2 pickles of dicts with ``data`` uint8
    (N, 3072) in CHW order, ``fine_labels``, ``coarse_labels``,
    ``filenames``; ``meta`` with the 100 ``fine_label_names``).

    Returns:
        str: ``root``, to be used as ``data_root``.
    """
    import os
    import pickle

    import numpy as np
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    for split, n in (('train', num_train), ('test', num_test)):
        labels = [int(i % 100) for i in range(n)]
        entry = {
            'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            'fine_labels': labels,
            'coarse_labels': [lbl // 5 for lbl in labels],
            'filenames': [f'{split}_{i}.png' for i in range(n)],
            'batch_label': f'{split} fixture',
        }
        with open(os.path.join(folder, split), 'wb') as f:
            pickle.dump(entry, f, protocol=2)
    meta = {
        'fine_label_names': [f'class_{i}' for i in range(100)],
        'coarse_label_names': [f'super_{i}' for i in range(20)],
    }
    with open(os.path.join(folder, 'meta'), 'wb') as f:
        pickle.dump(meta, f, protocol=2)
    return str(root)


@pytest.fixture(scope='session')
def cifar100_root(tmp_path_factory):
    return write_cifar100(tmp_path_factory.mktemp('cifar100'))


@pytest.fixture(scope='session')
def write_canvases():
    """``write_canvases(out_dir, num_canvases, seed=0)`` of the real
    converter, tools/dataset_converters/digit_canvas_to_seg.py."""
    return load_tool(
        'tools/dataset_converters/digit_canvas_to_seg.py').write_canvases


def write_image_folder(root,
                       splits=(('train', 2), ('test', 1)),
                       num_classes: int = 10,
                       size: int = 32,
                       seed: int = 0) -> str:
    """Write ``<root>/<split>/<class>/<i>.png`` (random RGB images), the
    layout of the demo's digits and of MMPretrain's ``CustomDataset``.

    Args:
        splits: ``(split, images per class)`` pairs.

    Returns:
        str: ``root``, to be used as ``data_root``.
    """
    import os

    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    for split, per_class in splits:
        for c in range(num_classes):
            folder = os.path.join(root, split, str(c))
            os.makedirs(folder, exist_ok=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(os.path.join(folder, f'{i}.png'))
    return str(root)


@pytest.fixture(scope='session')
def digits_root(tmp_path_factory):
    """A 10-class image folder for the demo configs: 2 training and 1 test
    image per class."""
    return write_image_folder(tmp_path_factory.mktemp('digits'))


def _voc_palette() -> list:
    """VOC's label palette (MMSeg's), 256 RGB entries, flattened."""
    from mmseg.datasets import PascalVOCDataset
    colours = [c for rgb in PascalVOCDataset.METAINFO['palette'] for c in rgb]
    return colours + [224, 224, 192] * (256 - len(colours) // 3)


def write_voc_pairs(folder,
                    names,
                    size=(64, 64),
                    seed: int = 0,
                    label_folders=('SegmentationClass', ),
                    palette: bool = False) -> None:
    """Write ``<folder>/JPEGImages/<name>.jpg`` and a label PNG per name in
    each of ``label_folders``, as in a Pascal VOC year folder.

    Each image holds one or two filled rectangles whose class (1..20)
    decides their colour on a dark noisy background (class 0), with 255
    (ignored) on the object borders, as in VOC, so the labels are
    learnable. ``palette=True`` writes the labels as the real
    SegmentationClass PNGs are (mode P with a palette, pixel values are the
    class indices); else as 8-bit grey PNGs of the same values.

    Args:
        folder: The year folder, e.g. ``<VOCdevkit>/VOC2007``.
        names (Sequence[str]): Image ids.
        size (int | tuple[int, int]): ``(height, width)`` of every image.
    """
    import os

    import cv2
    import numpy as np
    from PIL import Image
    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    for sub in ('JPEGImages', ) + tuple(label_folders):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    for name in names:
        img = rng.integers(0, 40, (h, w, 3)).astype(np.uint8)
        seg = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 3))):
            cls = int(rng.integers(1, 21))
            y, x = rng.integers(0, h // 2), rng.integers(0, w // 2)
            bh, bw = rng.integers(h // 4, h // 2), rng.integers(w // 4, w // 2)
            img[y:y + bh, x:x + bw] = (12 * cls) % 256, 255 - 10 * cls, 128
            seg[y:y + bh, x:x + bw] = cls
            cv2.rectangle(seg, (int(x), int(y)),
                          (int(x + bw - 1), int(y + bh - 1)), 255, 1)
        assert cv2.imwrite(
            os.path.join(folder, 'JPEGImages', f'{name}.jpg'), img)
        for sub in label_folders:
            path = os.path.join(folder, sub, f'{name}.png')
            if palette:
                label = Image.fromarray(seg, mode='P')
                label.putpalette(_voc_palette())
                label.save(path)
            else:
                assert cv2.imwrite(path, seg)


def write_voc_split(folder, split: str, names) -> None:
    """Write ``<folder>/ImageSets/Segmentation/<split>.txt``."""
    import os
    os.makedirs(
        os.path.join(folder, 'ImageSets', 'Segmentation'), exist_ok=True)
    with open(
            os.path.join(folder, 'ImageSets', 'Segmentation', f'{split}.txt'),
            'w') as f:
        f.write('\n'.join(names) + '\n')


def write_voc0712(root,
                  num_trainval=(2, 2),
                  num_test: int = 2,
                  size=(48, 64),
                  seed: int = 0) -> str:
    """Write a tiny Pascal VOC 2007 + 2012 segmentation set in the official
    layout under the VOCdevkit folder ``root``, as the VOC0712 configs
    (configs/_base_/datasets/voc0712_512x512.py) read it::

        VOC2007/{JPEGImages/*.jpg, SegmentationClass/*.png,
                 ImageSets/Segmentation/{trainval,test}.txt}
        VOC2012/{JPEGImages/*.jpg, SegmentationClass/*.png,
                 ImageSets/Segmentation/trainval.txt}

    Labels are palette PNGs as VOC's (see :func:`write_voc_pairs`).

    Args:
        num_trainval (tuple[int, int]): Training images of VOC2007 and of
            VOC2012.
        num_test (int): VOC2007 test images.
        size (tuple[int, int]): ``(height, width)`` of every image
            (landscape by default, as most VOC images).

    Returns:
        str: ``root``, to be used as ``data_root``.
    """
    import os
    n07, n12 = num_trainval
    splits = {
        '2007':
        dict(
            trainval=[f'{i:06d}' for i in range(n07)],
            test=[f'{i:06d}' for i in range(n07, n07 + num_test)]),
        '2012':
        dict(trainval=[f'2012_{i:06d}' for i in range(n12)]),
    }
    for k, (year, lists) in enumerate(splits.items()):
        folder = os.path.join(root, f'VOC{year}')
        write_voc_pairs(
            folder,
            sum(lists.values(), []),
            size=size,
            seed=seed + k,
            palette=True)
        for split, names in lists.items():
            write_voc_split(folder, split, names)
    return str(root)


@pytest.fixture(scope='session')
def voc0712_root(tmp_path_factory):
    """A tiny VOCdevkit for the VOC0712 configs: 2 + 2 training images
    (VOC2007, VOC2012 trainval) and 2 VOC2007 test images, 48x64."""
    return write_voc0712(tmp_path_factory.mktemp('VOCdevkit'))
