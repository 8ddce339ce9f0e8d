"""SeparableRoIAlign gives mmcv's RoIAlign numbers, forward and backward."""
import pytest
import torch
from mmcv.ops import roi_align

from mmkd.ops import SeparableRoIAlign, roi_align_separable


def _rois(num, images, side, seed=0):
    """Boxes partly outside the image, a zero-width one and a tiny one."""
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(num, 2, generator=gen) * side * 1.2 - side * 0.1
    wh = torch.rand(num, 2, generator=gen) * side * 0.6
    idx = torch.randint(0, images, (num, 1), generator=gen).float()
    rois = torch.cat([idx, xy, xy + wh], dim=1)
    rois[0, 1:] = torch.tensor([10., 12., 10., 40.])  # zero width
    rois[1, 1:] = torch.tensor([3., 3., 3.5, 3.2])  # below one cell
    rois[2, 1:] = torch.tensor([-30., -30., -10., -10.])  # outside
    return rois


@pytest.mark.parametrize('sampling_ratio', [0, 2])
@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('scale', [0.25, 0.125])
def test_forward_and_backward_match_mmcv(sampling_ratio, aligned, scale):
    feats = torch.randn(3, 5, 19, 23, requires_grad=True)
    rois = _rois(120, 3, 128)
    grad = torch.randn(120, 5, 7, 6)
    ref = roi_align(feats, rois, (7, 6), scale, sampling_ratio, 'avg', aligned)
    (ref * grad).sum().backward()
    ref_grad, feats.grad = feats.grad.clone(), None
    out = roi_align_separable(feats, rois, (7, 6), scale, sampling_ratio,
                              aligned)
    (out * grad).sum().backward()
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-5, rtol=0)
    assert torch.allclose(feats.grad, ref_grad, atol=1e-5, rtol=0)
    # the test has teeth: the border rows carry weight, and mmcv's
    # adaptive grid differs from a fixed one
    assert ref.abs().sum() > 0 and ref_grad[:, :, -1].abs().sum() > 0


def test_no_rois_and_images_without_rois():
    feats = torch.randn(2, 4, 8, 8, requires_grad=True)
    empty = roi_align_separable(feats, torch.zeros(0, 5), (7, 7), 0.25)
    assert empty.shape == (0, 4, 7, 7)
    empty.sum().backward()  # connected to the graph, zero gradient
    assert feats.grad.abs().sum() == 0
    rois = torch.tensor([[1., 0., 0., 20., 20.]])  # image 0 has none
    assert torch.allclose(
        roi_align_separable(feats, rois, (7, 7), 0.25),
        roi_align(feats, rois, (7, 7), 0.25, 0, 'avg', True),
        atol=1e-5)


def test_module_uses_mmcv_above_max_cells(monkeypatch):
    """Matrices on small CPU maps, mmcv's kernel on large ones."""
    import mmkd.ops.roi_align as module
    calls = []
    real = module.roi_align_separable
    monkeypatch.setattr(module, 'roi_align_separable',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    layer = SeparableRoIAlign(7, spatial_scale=0.25, max_cells=16 * 16)
    rois = _rois(10, 1, 64)
    small, large = torch.randn(1, 3, 16, 16), torch.randn(1, 3, 16, 17)
    for feats in (small, large):
        ref = roi_align(feats, rois, (7, 7), 0.25, 0, 'avg', True)
        assert torch.allclose(layer(feats, rois), ref, atol=1e-5)
    assert len(calls) == 1


def test_the_demo_extractor_builds_it_from_its_config():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd.registry import MODELS
    init_default_scope('mmkd')
    cfg = Config.fromfile('configs/faster_rcnn/frcnn_r18w8_synthetic.py')
    extractor = MODELS.build(cfg.model.roi_head.bbox_roi_extractor)
    layers = extractor.roi_layers
    assert all(type(layer) is SeparableRoIAlign for layer in layers)
    assert [layer.spatial_scale
            for layer in layers] == [1 / 4, 1 / 8, 1 / 16, 1 / 32]
    mmcv_cfg = dict(
        cfg.model.roi_head.bbox_roi_extractor,
        roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0))
    assert type(MODELS.build(mmcv_cfg).roi_layers[0]).__name__ == 'RoIAlign'


def test_under_autocast_it_pools_in_the_features_precision():
    """As mmcv's kernel: float32 features give float32 RoI features under
    bf16 autocast (MMDetection writes them into a float32 buffer)."""
    feats = torch.randn(2, 4, 16, 16)
    rois = _rois(20, 2, 64)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = roi_align_separable(feats, rois, (7, 7), 0.25)
    ref = roi_align(feats, rois, (7, 7), 0.25, 0, 'avg', True)
    assert out.dtype == torch.float32
    assert torch.allclose(out, ref, atol=1e-5)


def test_any_memory_format_gives_mmcvs_numbers():
    """mmcv's kernel reads a channels-last map as contiguous (wrong
    numbers); SeparableRoIAlign is right on either path."""
    feats = torch.randn(2, 4, 16, 16)
    rois = _rois(20, 2, 64)
    ref = roi_align(feats, rois, (7, 7), 0.25, 0, 'avg', True)
    nhwc = feats.contiguous(memory_format=torch.channels_last)
    assert not torch.allclose(
        roi_align(nhwc, rois, (7, 7), 0.25, 0, 'avg', True), ref, atol=1e-3)
    for max_cells in (16 * 16, 8 * 8):  # matrices, then mmcv's kernel
        layer = SeparableRoIAlign(7, spatial_scale=0.25, max_cells=max_cells)
        assert torch.allclose(layer(nhwc, rois), ref, atol=1e-5)


def test_the_benchmark_prints_both_and_their_ratio(capsys):
    from mmkd.testing import load_tool
    load_tool('analysis_tools/benchmark_roi_align').main(
        ['--sizes', '8', '--rois', '6', '--images', '2', '--iters', '1'])
    out = capsys.readouterr().out
    row = out.strip().splitlines()[-1].split('|')
    assert row[1].strip() == '8 x 8'
    mmcv_ms, sep_ms, ratio = (float(x) for x in row[2:5])
    assert mmcv_ms > 0 and sep_ms > 0
    # the ratio of the unrounded times (printed to 0.1 ms and 0.01)
    low = (sep_ms - 0.05) / (mmcv_ms + 0.05) - 0.005
    high = (sep_ms + 0.05) / max(mmcv_ms - 0.05, 1e-9) + 0.005
    assert low <= ratio <= high
