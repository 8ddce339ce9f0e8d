"""FixedChannelMap: the no-adaptation-layer ablation's channel map."""
import pytest
import torch

import mmkd  # noqa: F401
from mmkd.registry import MODELS


def test_repeats_each_channel_over_a_block():
    fixed = MODELS.build(
        dict(type='FixedChannelMap', in_channels=2, out_channels=6))
    x = torch.tensor([1., 2.]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    out = fixed(x)
    assert out.shape == (1, 6, 2, 2)
    # student channel 0 -> teacher channels 0-2, channel 1 -> 3-5
    assert out[0, :, 0, 0].tolist() == [1., 1., 1., 2., 2., 2.]
    assert not list(fixed.parameters())


def test_refuses_what_it_cannot_map():
    with pytest.raises(ValueError, match='multiple of in_channels=16'):
        MODELS.build(
            dict(type='FixedChannelMap', in_channels=16, out_channels=40))
    fixed = MODELS.build(
        dict(type='FixedChannelMap', in_channels=2, out_channels=4))
    with pytest.raises(ValueError, match=r'expects \(N, 2, H, W\)'):
        fixed(torch.zeros(1, 3, 2, 2))
