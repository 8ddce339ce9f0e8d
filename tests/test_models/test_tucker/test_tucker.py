"""Tucker-2 decomposition: math, TuckerConv2d, tools/tucker_decompose.py."""

import pytest
import torch
import torch.nn as nn

from mmkd.models.tucker import TuckerConv2d
from mmkd.models.tucker.decompose import (energy_rank, evbmf_rank,
                                          select_ranks, tucker2_decompose,
                                          tucker2_reconstruct, unfold)
from mmkd.testing import load_tool
from mmkd.testing.trunks import build_tiny_detector, write_tiny_config


def _conv(c_in=6, c_out=8, k=3, stride=1, padding=1, seed=0):
    torch.manual_seed(seed)
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding)


@pytest.mark.parametrize('stride,padding', [(1, 1), (2, 0)])
def test_full_rank_is_exact(stride, padding):
    conv = _conv(stride=stride, padding=padding)
    factors = tucker2_decompose(conv.weight, (6, 8))
    assert [tuple(f.shape) for f in factors] == [(6, 6, 1, 1), (8, 6, 3, 3),
                                                 (8, 8, 1, 1)]
    layer = TuckerConv2d.from_conv(conv, factors)
    x = torch.rand(2, 6, 11, 13)
    torch.testing.assert_close(layer(x), conv(x), atol=1e-4, rtol=1e-4)


def test_error_decreases_with_rank():
    conv = _conv(c_in=16, c_out=16)
    x = torch.rand(2, 16, 9, 9)
    weight_err, out_err = [], []
    for r in (1, 2, 4, 8, 12, 16):
        factors = tucker2_decompose(conv.weight, (r, r))
        weight_err.append(
            (tucker2_reconstruct(*factors) - conv.weight).norm().item())
        out = TuckerConv2d.from_conv(conv, factors)(x)
        out_err.append((out - conv(x)).norm().item())
    assert all(a > b for a, b in zip(weight_err, weight_err[1:]))
    assert all(a > b for a, b in zip(out_err, out_err[1:]))
    assert weight_err[-1] < 1e-4


def test_hooi_is_not_worse_than_hosvd():
    w = _conv(c_in=12, c_out=10).weight.detach()

    def err(n_iter):
        f = tucker2_decompose(w, (3, 4), n_iter=n_iter)
        return (tucker2_reconstruct(*f) - w).norm().item()

    assert err(5) <= err(0) + 1e-6


def test_energy_rank_by_hand():
    # squared singular values 9, 4, 1: cumulative 9/14, 13/14, 14/14.
    m = torch.diag(torch.tensor([3., 2., 1.]))
    assert energy_rank(m, 0.5) == 1
    assert energy_rank(m, 9 / 14) == 1
    assert energy_rank(m, 0.9) == 2
    assert energy_rank(m, 1.0) == 3
    with pytest.raises(ValueError, match='energy'):
        energy_rank(m, 0.)


def test_evbmf_recovers_the_rank_of_a_noisy_low_rank_matrix():
    g = torch.Generator().manual_seed(0)
    low = torch.randn(40, 3, generator=g) @ torch.randn(3, 60, generator=g)
    noisy = low + 0.05 * torch.randn(40, 60, generator=g)
    assert evbmf_rank(noisy)[0] == 3
    assert evbmf_rank(noisy.t())[0] == 3  # transposed internally


def test_select_ranks_and_errors():
    w = _conv(c_in=16, c_out=8).weight
    r_in, r_out = select_ranks(w, 'energy', 0.9)
    assert r_in == energy_rank(unfold(w, 1), 0.9)
    assert r_out == energy_rank(unfold(w, 0), 0.9)
    assert 1 <= r_in <= 16 and 1 <= r_out <= 8
    with pytest.raises(ValueError, match="'energy' or 'vbmf'"):
        select_ranks(w, 'cp')
    with pytest.raises(ValueError, match='within'):
        tucker2_decompose(w, (17, 2))
    grouped = nn.Conv2d(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match='groups=1'):
        TuckerConv2d.from_conv(
            grouped, tucker2_decompose(torch.rand(4, 4, 3, 3), (2, 2)))


def _tool():
    return load_tool('model_converters/tucker_decompose')


def test_tucker_decompose_cli(tmp_path, capsys):
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from mmkd.registry import MODELS
    config = write_tiny_config(tmp_path, 'vgg16')
    model = build_tiny_detector('vgg16').eval()
    ckpt = str(tmp_path / 'vgg16.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    # conv3_1 is 8 -> 16 channels at this width: full rank is exact.
    _tool().main([
        config, ckpt,
        str(tmp_path / 'out'), '--layers', 'conv3_1', 'conv4_1', '--ranks',
        'conv3_1=8,16', '--energy', '0.5', '--shape', '64', '64'
    ])
    printed = capsys.readouterr().out
    assert 'params @ 64x64' in printed and 'FLOPs @ 64x64' in printed
    cfg = Config.fromfile(str(tmp_path / 'out' / 'tiny_vgg16_tucker.py'))
    ranks = cfg.model.backbone.tucker_ranks
    assert ranks['conv3_1'] == [8, 16] and set(ranks) == {'conv3_1', 'conv4_1'}
    assert cfg.model.init_cfg.checkpoint.endswith('tiny_vgg16_tucker.pth')
    decomposed = MODELS.build(cfg.model).eval()
    load_checkpoint(decomposed, cfg.model.init_cfg.checkpoint, strict=True)
    assert isinstance(decomposed.backbone.conv4_1, TuckerConv2d)
    with torch.no_grad():
        # Full-rank conv3_1 reproduces the original layer.
        feat = torch.rand(1, 8, 8, 8)
        torch.testing.assert_close(
            decomposed.backbone.conv3_1(feat),
            model.backbone.conv3_1(feat),
            atol=1e-4,
            rtol=1e-4)
        # conv4_1 at 50% energy is an approximation, not the original.
        feat = torch.rand(1, 16, 4, 4)
        assert not torch.allclose(
            decomposed.backbone.conv4_1(feat),
            model.backbone.conv4_1(feat),
            atol=1e-3)
        # Untouched layers are copied bit for bit.
        assert torch.equal(decomposed.backbone.conv5_3.weight,
                           model.backbone.conv5_3.weight)
