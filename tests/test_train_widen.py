"""Widening a trained U-Net keeps its function, and its new channels can learn."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chimerax.deepssetracer.model.unet import UNet3D  # noqa: E402
from chimerax.deepssetracer.train.widen import widen_into  # noqa: E402


def _trained_like(net: UNet3D) -> UNet3D:
    """Non-trivial BatchNorm statistics and affine terms, as a trained network has."""
    torch.manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net


@pytest.mark.parametrize("widths", [[4, 8, 16], [4, 12, 24], [4, 8, 40]])
def test_widened_network_computes_the_same(widths):
    old = _trained_like(UNet3D(4, 3))
    new = UNet3D(4, 3, widths=widths)
    widen_into(new, old.state_dict())
    x = torch.randn(2, 1, 16, 8, 12)
    for mode in (False, True):  # eval: running statistics; train: batch statistics
        old.train(mode)
        new.train(mode)
        with torch.no_grad():
            assert torch.allclose(old(x), new(x), atol=1e-5)


def test_new_channels_get_gradients_after_one_step():
    old = UNet3D(4, 3)
    new = UNet3D(4, 3, widths=[4, 8, 24])
    widen_into(new, old.state_dict())
    opt = torch.optim.SGD(new.parameters(), lr=0.1)
    x = torch.randn(2, 1, 8, 8, 8)
    for _ in range(2):
        opt.zero_grad()
        new(x).square().mean().backward()
        opt.step()
    w = new.down[2][0].weight  # the coarsest level's first convolution: 8 -> 24 channels
    assert w.grad[16:].abs().sum() > 0  # the 8 new output channels learn


def test_a_wider_or_different_state_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        widen_into(UNet3D(4, 3), UNet3D(4, 3, widths=[4, 8, 24]).state_dict())
    with pytest.raises(ValueError, match="differ"):
        widen_into(UNet3D(4, 3), UNet3D(4, 2).state_dict())
