"""The OpenMMLab stack imports and its compiled ops run on CPU."""
import torch


def test_stack_versions():
    import mmcv
    import mmdet
    import mmengine
    import numpy as np

    import mmkd
    assert mmcv.__version__ == '2.1.0'
    assert mmdet.__version__ == '3.3.0'
    assert mmengine.__version__ == '0.10.7'
    assert torch.__version__.startswith('2.13.0')
    assert int(np.__version__.split('.')[0]) == 2
    assert mmkd.__version__


def test_nms_runs():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(box0, box1) = 81 / 119 = 0.68 > 0.5, so box1 is suppressed.
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7]))


def test_roi_align_runs():
    from mmcv.ops import roi_align
    feat = torch.arange(16.).view(1, 1, 4, 4)
    # One RoI covering the 2x2 block at rows 1-2, cols 1-2 (pixel centres
    # at 1.5 and 2.5 with aligned=True => exact values 5, 6, 9, 10).
    rois = torch.tensor([[0., 1., 1., 3., 3.]])
    out = roi_align(feat, rois, (2, 2), 1.0, 1, 'avg', True)
    assert torch.allclose(out.view(-1), torch.tensor([5., 6., 9., 10.]))
