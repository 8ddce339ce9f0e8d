"""Tiny Faster R-CNNs from the base configs: build, loss, backward."""
import pytest
import torch

from mmkd.testing.trunks import ARCHS, build_tiny_detector


def _fake_batch(model, num_classes=3):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 64, 96), (3, 80, 64)],
        num_items=[3, 2],
        num_classes=num_classes)
    data = model.data_preprocessor(packed, True)
    return data['inputs'], data['data_samples']


@pytest.mark.parametrize('arch', ARCHS)
def test_tiny_detector_loss_and_backward(arch):
    model = build_tiny_detector(arch)
    assert not model.with_neck
    assert model.rpn_head.prior_generator.strides == [(16, 16)]
    fc6 = model.roi_head.bbox_head.shared_fcs[0]
    roi = 7 if arch == 'vgg16' else 6
    assert fc6.in_features == model.backbone.out_channels * roi * roi
    model.train()
    losses = model.loss(*_fake_batch(model))
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total)
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert key in log_vars
    total.backward()
    backbone = model.backbone
    last_conv = getattr(backbone, backbone.stages[-1][0])
    assert last_conv.weight.grad is not None
    assert torch.count_nonzero(last_conv.weight.grad) > 0
    first_conv = getattr(backbone, backbone.stages[0][0])
    assert first_conv.weight.grad is None  # frozen stage 1
    assert fc6.weight.grad is not None


def test_tucker_detector_runs():
    model = build_tiny_detector(
        'vgg16', tucker_ranks=dict(conv3_1=(3, 5), conv4_2=(8, 8)))
    model.train()
    total, _ = model.parse_losses(model.loss(*_fake_batch(model)))
    total.backward()
    assert model.backbone.conv4_2.core.weight.grad is not None
