import pytest
import torch
from torch import nn

import mmkd  # noqa: F401
from mmkd.models.necks import HintAdapter
from mmkd.registry import MODELS


def num_params(module):
    return sum(param.numel() for param in module.parameters())


@pytest.mark.parametrize(
    'kernel_size,expected',
    [
        (1, 4 * 8 + 8),  # 1x1 weights + bias
        (3, 4 * 8 * 9 + 8),  # 3x3 weights + bias
    ])
def test_output_shape_and_parameter_count(kernel_size, expected):
    adapter = HintAdapter(4, 8, kernel_size=kernel_size)
    out = adapter(torch.randn(2, 4, 5, 7))
    assert out.shape == (2, 8, 5, 7)  # spatial size kept
    assert num_params(adapter) == expected


def test_one_by_one_conv_by_hand():
    # out = 1 * 3 + (-1) * 1 + 0.5 = 2.5 at every pixel
    adapter = HintAdapter(2, 1)
    with torch.no_grad():
        adapter.conv.weight.copy_(torch.tensor([1., -1.]).view(1, 2, 1, 1))
        adapter.conv.bias.fill_(0.5)
    x = torch.stack([torch.full((3, 3), 3.), torch.ones(3, 3)])[None]
    torch.testing.assert_close(adapter(x), torch.full((1, 1, 3, 3), 2.5))


def test_kernel_three_by_hand():
    # all-ones 3x3 kernel, zero padding 1, bias 0, on a 3x3 map of ones:
    # a corner sees 4 ones, an edge 6, the centre 9
    adapter = HintAdapter(1, 1, kernel_size=3)
    with torch.no_grad():
        adapter.conv.weight.fill_(1.)
        adapter.conv.bias.zero_()
    out = adapter(torch.ones(1, 1, 3, 3))
    expected = torch.tensor([[4., 6., 4.], [6., 9., 6.], [4., 6., 4.]])
    torch.testing.assert_close(out[0, 0], expected)


def test_norm_and_activation():
    adapter = HintAdapter(
        1, 1, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'))
    assert isinstance(adapter.norm, nn.BatchNorm2d)
    assert isinstance(adapter.act, nn.ReLU)
    assert adapter.conv.bias is None  # the norm carries the bias
    # conv weight 1 + BN (2 params) = 3
    assert num_params(adapter) == 3
    with torch.no_grad():
        adapter.conv.weight.fill_(1.)
    # train-mode BN over the batch [1, 3]: mean 2, biased var 1
    # -> (x - 2) / sqrt(1 + 1e-5) = [-1, 1] -> ReLU -> [0, 1]
    x = torch.tensor([1., 3.]).view(2, 1, 1, 1)
    out = adapter(x).flatten()
    torch.testing.assert_close(out, torch.tensor([0., 1.]), atol=1e-4, rtol=0)


def test_default_init_is_variance_preserving_with_zero_bias():
    # Kaiming normal, fan-in, gain 1: std = 1 / sqrt(256) = 0.0625
    torch.manual_seed(0)
    adapter = HintAdapter(256, 128)
    adapter.init_weights()
    assert adapter.conv.bias.abs().max().item() == 0.
    assert abs(adapter.conv.weight.std().item() - 0.0625) < 0.003


def test_invalid_kernel_size_and_input():
    with pytest.raises(ValueError, match='kernel_size must be 1 or 3, got 5'):
        HintAdapter(4, 8, kernel_size=5)
    with pytest.raises(ValueError, match=r'\(N, 4, H, W\).*\(2, 3, 5, 5\)'):
        HintAdapter(4, 8)(torch.zeros(2, 3, 5, 5))


def test_build_from_registry():
    adapter = MODELS.build(
        dict(type='HintAdapter', in_channels=4, out_channels=8, kernel_size=3))
    assert isinstance(adapter, HintAdapter)
    assert num_params(adapter) == 4 * 8 * 9 + 8
    assert adapter(torch.zeros(1, 4, 6, 6)).shape == (1, 8, 6, 6)
