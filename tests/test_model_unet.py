"""The U-Net's shapes, size checks and parameter counts; the published network's size."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chimerax.deepssetracer.model.published import PublishedUNet  # noqa: E402
from chimerax.deepssetracer.model.unet import UNet3D, count_parameters  # noqa: E402


@pytest.mark.parametrize("base, depth", [(4, 2), (4, 3), (2, 4)])
def test_logits_shape(base, depth):
    net = UNet3D(base, depth).eval()
    m = net.size_multiple
    assert m == 2 ** (depth - 1)
    x = torch.randn(2, 1, 2 * m, m, 3 * m)
    assert net(x).shape == (2, 3, 2 * m, m, 3 * m)


def test_more_width_more_parameters():
    assert count_parameters(UNet3D(8, 4)) < count_parameters(UNet3D(12, 4)) \
        < count_parameters(UNet3D(16, 4))


def test_bad_input_is_refused():
    net = UNet3D(2, 3)
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.zeros(1, 1, 8, 8, 6))
    with pytest.raises(ValueError, match=r"\[N, 1, D, H, W\]"):
        net(torch.zeros(1, 2, 8, 8, 8))
    with pytest.raises(ValueError, match="depth"):
        UNet3D(4, 1)


def test_published_network_size():
    net = PublishedUNet().eval()
    assert 4.4e6 < count_parameters(net) < 4.8e6  # the paper: about 4.6 M
    assert net(torch.zeros(1, 1, 8, 8, 8)).shape == (1, 3, 8, 8, 8)


def test_widths_override_the_doubling():
    net = UNet3D(4, 3, widths=[4, 8, 24]).eval()
    assert net.widths == [4, 8, 24]
    assert count_parameters(net) > count_parameters(UNet3D(4, 3))
    assert net(torch.zeros(1, 1, 8, 8, 8)).shape == (1, 3, 8, 8, 8)
    for bad in ([4, 8], [6, 8, 16], [4, 0, 16]):
        with pytest.raises(ValueError, match="widths"):
            UNet3D(4, 3, widths=bad)
