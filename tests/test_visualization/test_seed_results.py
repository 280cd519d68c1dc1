"""plot_seed_results: the demo's figure, one panel per task, one row per
arm, every seed's value and the mean, the baseline marked."""
import pytest

from frskd_mm.visualization import plot_seed_results


def _arm(*values):
    mean = sum(values) / len(values)
    return dict(values=list(values), mean=mean, std=0.5)


def test_one_panel_per_task_sized_by_its_arms(tmp_path):
    from PIL import Image
    panels = [
        dict(
            title='classification',
            metric='accuracy/top1 (%)',
            reference='baseline',
            arms=dict(
                baseline=_arm(97.0, 98.0),
                frskd=_arm(98.0, 99.0),
                stable=_arm(98.5, 99.5))),
        dict(
            title='segmentation',
            metric='mIoU (%)',
            reference='baseline',
            arms=dict(baseline=_arm(80.0), frskd=_arm(81.0)))
    ]
    out = str(tmp_path / 'sub' / 'results.png')
    assert plot_seed_results(panels, out, dpi=50) == out
    # 6 inches per panel; 1.4 + 0.6 inches per row of the longest panel.
    assert Image.open(out).size == (600, 160)


def test_nothing_to_plot_is_an_error(tmp_path):
    with pytest.raises(ValueError, match='No results'):
        plot_seed_results([], str(tmp_path / 'x.png'))
