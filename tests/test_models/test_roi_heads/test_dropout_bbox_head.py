"""Shared2FCDropoutBBoxHead: dropout 0.5 after fc6 / fc7 in training only,
under Shared2FCBBoxHead's parameter names."""
import torch

import mmkd  # noqa: F401
from mmkd.models.backbones.pretrained import FC6, FC7
from mmkd.registry import MODELS

HEAD = dict(
    in_channels=4,
    fc_out_channels=32,
    roi_feat_size=3,
    num_classes=3,
    bbox_coder=dict(
        type='DeltaXYWHBBoxCoder',
        target_means=[0., 0., 0., 0.],
        target_stds=[0.1, 0.1, 0.2, 0.2]))


def _heads(dropout=0.5):
    torch.manual_seed(0)
    ours = MODELS.build(
        dict(HEAD, type='Shared2FCDropoutBBoxHead', dropout=dropout))
    plain = MODELS.build(dict(HEAD, type='Shared2FCBBoxHead'))
    plain.load_state_dict(ours.state_dict())  # strict: the same keys
    return ours, plain


def test_same_parameter_names_as_shared2fc():
    ours, plain = _heads()
    assert list(ours.state_dict()) == list(plain.state_dict())
    # the ImageNet fc6 / fc7 targets of the weight converter exist
    prefix = 'roi_head.bbox_head.'
    keys = {f'{prefix}{k}' for k in ours.state_dict()}
    assert {f'{FC6}.weight', f'{FC7}.weight'} <= keys


def test_dropout_in_training_only():
    ours, plain = _heads()
    x = torch.rand(64, 4, 3, 3)
    ours.eval(), plain.eval()
    for a, b in zip(ours(x), plain(x)):
        torch.testing.assert_close(a, b)
    ours.train()
    torch.manual_seed(1)
    first = ours(x)[0]
    second = ours(x)[0]
    assert not torch.allclose(first, second)
    # fc7's output is zeroed at about half the units, the rest doubled
    seen = {}
    ours.dropout.register_forward_hook(
        lambda m, i, o: seen.setdefault('out', []).append((i[0], o)))
    ours(x)
    fc7_in, fc7_out = seen['out'][1]
    kept = fc7_out != 0
    share = kept[fc7_in != 0].float().mean().item()
    assert 0.4 < share < 0.6, share
    torch.testing.assert_close(fc7_out[kept], 2 * fc7_in[kept])


def test_dropout_zero_is_shared2fc():
    ours, plain = _heads(dropout=0.0)
    x = torch.rand(8, 4, 3, 3)
    for a, b in zip(ours.train()(x), plain.train()(x)):
        torch.testing.assert_close(a, b)
