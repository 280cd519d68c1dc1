from .draw_seeded_dataset import DrawSeededDataset

__all__ = ['DrawSeededDataset']
