from .draw_seeded_sampler import DrawSeededSampler, SeededIndex

__all__ = ['DrawSeededSampler', 'SeededIndex']
