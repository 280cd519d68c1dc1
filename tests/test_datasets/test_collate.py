"""collate_with_size_check: a batch of images of different sizes names the
image and the fix."""
import cv2
import numpy as np
import pytest
from mmengine.runner import Runner

import frskd_mm  # noqa: F401  (registers the collate function)


def _loader(root, collate):
    return Runner.build_dataloader(
        dict(
            batch_size=4,
            num_workers=0,
            collate_fn=collate,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(
                type='mmpretrain.CustomDataset',
                data_root=str(root),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='mmpretrain.PackInputs')
                ])))


def test_mixed_sizes_name_the_first_odd_image(tmp_path):
    for i, size in enumerate((32, 32, 40, 32)):
        (tmp_path / 'a').mkdir(exist_ok=True)
        cv2.imwrite(
            str(tmp_path / 'a' / f'{i}.png'),
            np.zeros((size, size, 3), np.uint8))
    collate = dict(
        type='collate_with_size_check',
        collate_fn=dict(type='default_collate'))
    with pytest.raises(
            ValueError,
            match=r'a/0.png gives \(3, 32, 32\) but '
            r'.*a/2.png gives \(3, 40, 40\).*Resize them in the '
            r"dataset's pipeline.*or set batch_size=1"):
        next(iter(_loader(tmp_path, collate)))
    # Equal sizes collate as default_collate does.
    cv2.imwrite(str(tmp_path / 'a' / '2.png'), np.zeros((32, 32, 3), np.uint8))
    batch = next(iter(_loader(tmp_path, collate)))
    assert tuple(batch['inputs'].shape) == (4, 3, 32, 32)
    # MMEngine's pseudo_collate (the default) never stacks, so never fails.
    batch = next(iter(_loader(tmp_path, dict(type='collate_with_size_check'))))
    assert isinstance(batch['inputs'], list)
