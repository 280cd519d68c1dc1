"""Figures of what FRSKD does (used by tools/analysis_tools/ and the demo).

``import frskd_mm`` does not import this package; matplotlib is imported only
inside the plotting functions, so frskd_mm works without it.
"""
from .attention import (AttentionRow, check_frskd_config, compute_rows,
                        load_frskd_model, visualize_attention)
from .maps import attention_maps, frskd_features
from .pipeline import build_image_pipeline, prepare_image
from .plot import plot_attention
from .results import plot_seed_results

__all__ = [
    'AttentionRow', 'attention_maps', 'build_image_pipeline',
    'check_frskd_config', 'compute_rows', 'frskd_features', 'load_frskd_model',
    'plot_attention', 'plot_seed_results', 'prepare_image',
    'visualize_attention'
]
