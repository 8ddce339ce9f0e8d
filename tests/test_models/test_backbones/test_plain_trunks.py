"""VGG16 / AlexNet / VGG-M trunks: stride, channels, names, freezing."""
import math

import pytest
import torch
import torch.nn as nn

from mmkd.models.backbones import VGG16, VGGM, AlexNet
from mmkd.models.tucker import TuckerConv2d
from mmkd.registry import MODELS

W = 1 / 16  # shrink factor of the tests


@pytest.mark.parametrize('cls,kwargs,channels',
                         [(VGG16, {}, 512), (AlexNet, {}, 256),
                          (AlexNet, dict(style='caffe'), 256),
                          (VGGM, {}, 512)])
@pytest.mark.parametrize('hw', [(64, 96), (72, 88), (93, 61)])
def test_output_is_one_stride_16_map(cls, kwargs, channels, hw):
    trunk = cls(width_mult=W, init_cfg=None, **kwargs)
    outs = trunk(torch.rand(2, 3, *hw))
    assert isinstance(outs, tuple) and len(outs) == 1
    # Every trunk gives ceil(H / 16) x ceil(W / 16) (one anchor grid for KD).
    assert outs[0].shape == (2, round(channels * W), math.ceil(hw[0] / 16),
                             math.ceil(hw[1] / 16))
    assert trunk.out_channels == round(channels * W)


def test_full_width_layouts():
    shapes = {k: tuple(v.shape) for k, v in VGG16().state_dict().items()}
    names = [
        f'conv{i}_{j}' for i, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
        for j in range(1, n + 1)
    ]
    assert sorted(shapes) == sorted(f'{n}.{p}' for n in names
                                    for p in ('weight', 'bias'))
    assert shapes['conv1_1.weight'] == (64, 3, 3, 3)
    assert shapes['conv5_3.weight'] == (512, 512, 3, 3)
    vggm = {k: tuple(v.shape) for k, v in VGGM().state_dict().items()}
    assert vggm['conv1.weight'] == (96, 3, 7, 7)
    assert vggm['conv2.weight'] == (256, 96, 5, 5)
    assert vggm['conv5.weight'] == (512, 512, 3, 3)
    alex = AlexNet().state_dict()
    assert [tuple(alex[f'conv{i}.weight'].shape[:2]) for i in range(1, 6)] \
        == [(64, 3), (192, 64), (384, 192), (256, 384), (256, 256)]
    caffe = AlexNet(style='caffe').state_dict()
    assert [caffe[f'conv{i}.weight'].shape[0]
            for i in range(1, 6)] == [96, 256, 384, 384, 256]
    assert isinstance(AlexNet(style='caffe').lrn1, nn.LocalResponseNorm)


def test_out_indices_give_every_stage_stride():
    trunk = VGG16(width_mult=W, out_indices=(0, 1, 2, 3, 4), init_cfg=None)
    outs = trunk(torch.rand(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [32, 16, 8, 4, 4]


def _stage_params(trunk, stage):
    return [
        p for name in trunk.stages[stage]
        for p in getattr(trunk, name).parameters()
    ]


@pytest.mark.parametrize('cls,frozen', [(VGG16, 2), (AlexNet, 1), (VGGM, 1)])
def test_default_frozen_stages_follow_fast_rcnn(cls, frozen):
    trunk = cls(width_mult=W, init_cfg=None)
    assert trunk.frozen_stages == frozen
    for stage in range(len(trunk.stages)):
        grads = {p.requires_grad for p in _stage_params(trunk, stage)}
        assert grads == {stage >= frozen}


def test_frozen_stages_freeze_params_and_bn():
    trunk = VGG16(
        width_mult=W, frozen_stages=2, norm_cfg=dict(type='BN'), init_cfg=None)
    trunk.train()
    assert not trunk.bn1_1.training and not trunk.bn2_2.training
    assert trunk.bn3_1.training
    trunk(torch.rand(2, 3, 32, 32))[0].sum().backward()
    assert trunk.conv1_1.weight.grad is None
    assert trunk.bn2_1.weight.grad is None
    assert trunk.conv3_1.weight.grad is not None
    # Frozen BN statistics do not move.
    mean = trunk.bn1_1.running_mean.clone()
    trunk(torch.rand(2, 3, 32, 32) * 5)
    assert torch.equal(trunk.bn1_1.running_mean, mean)
    unfrozen = VGG16(width_mult=W, frozen_stages=-1, init_cfg=None)
    assert all(p.requires_grad for p in unfrozen.parameters())


def test_norm_eval_keeps_all_bn_in_eval():
    trunk = VGGM(
        width_mult=W,
        frozen_stages=-1,
        norm_cfg=dict(type='BN'),
        norm_eval=True,
        init_cfg=None)
    trunk.train()
    bns = [m for m in trunk.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 5 and not any(m.training for m in bns)
    assert all(p.requires_grad for p in trunk.parameters())


def test_tucker_ranks_build_decomposed_convs():
    trunk = MODELS.build(
        dict(
            type='VGG16',
            width_mult=W,
            init_cfg=None,
            tucker_ranks=dict(conv3_1=(4, 6))))
    assert isinstance(trunk.conv3_1, TuckerConv2d)
    keys = [k for k in trunk.state_dict() if k.startswith('conv3_1.')]
    assert sorted(keys) == [
        'conv3_1.core.weight', 'conv3_1.in_proj.weight',
        'conv3_1.out_proj.bias', 'conv3_1.out_proj.weight'
    ]
    assert trunk.conv3_1.core.weight.shape == (6, 4, 3, 3)
    assert trunk(torch.rand(1, 3, 64, 64))[0].shape == (1, 32, 4, 4)


def test_bad_arguments_say_what_to_fix():
    with pytest.raises(KeyError, match="valid names are .*'conv1_1'"):
        VGG16(tucker_ranks=dict(conv6=(1, 1)), init_cfg=None)
    with pytest.raises(ValueError, match='lower the ranks'):
        VGG16(width_mult=W, tucker_ranks=dict(conv2_1=(5, 999)), init_cfg=None)
    with pytest.raises(ValueError, match=r'frozen_stages must be in'):
        VGGM(frozen_stages=6, init_cfg=None)
    with pytest.raises(ValueError, match='style must be one of'):
        AlexNet(style='zf', init_cfg=None)


def test_default_init_cfg_initialises():
    trunk = VGG16(width_mult=W)
    before = trunk.conv3_1.weight.clone()
    trunk.init_weights()
    assert not torch.equal(before, trunk.conv3_1.weight)
    assert torch.count_nonzero(trunk.conv3_1.bias) == 0  # Kaiming bias 0
