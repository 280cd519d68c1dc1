"""Identity in the forward pass, a scaled gradient in the backward pass."""
import torch
from torch import Tensor


class _ScaleGrad(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.scale, None


def scale_grad(x: Tensor, scale: float) -> Tensor:
    """Return ``x`` unchanged; the gradient flowing back through it is
    multiplied by ``scale`` (0 detaches, 1 is the identity).

    Args:
        x (Tensor): Any tensor.
        scale (float): Gradient factor, >= 0.

    Returns:
        Tensor: ``x`` (a view of it, unless ``scale`` is 0 or 1).
    """
    if scale == 1:
        return x
    if scale == 0:
        return x.detach()
    return _ScaleGrad.apply(x, scale)
