"""Parameters and FLOPs of a two-stage detector at a fixed input size.

``mmengine.analysis.get_model_complexity_info`` traces ``forward(x)``; a
detector's forward needs data samples and produces a data-dependent number
of proposals, so :class:`DetectorCore` runs the parts that cost: backbone
(+ neck), RPN head and the RoI head's box head(s) on a fixed number of
RoIs (default 300, the test-time proposals of Faster R-CNN; every stage of
a cascade). Proposal decoding, NMS and RoIAlign have no (or negligible)
FLOPs and are not counted, nor is a mask head (it runs on the final
detections, whose number depends on the image). FLOPs follow fvcore /
MMEngine: one multiply-add = one FLOP.
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn


class DetectorCore(nn.Module):
    """``x -> (cls_score, bbox_pred)`` through a two-stage detector.

    Args:
        detector (nn.Module): An MMDetection ``TwoStageDetector``.
        num_rois (int): Number of RoIs fed to the RoI head.
    """

    def __init__(self, detector: nn.Module, num_rois: int = 300) -> None:
        super().__init__()
        self.detector = detector
        self.num_rois = num_rois

    def fixed_rois(self, x: torch.Tensor) -> torch.Tensor:
        """``(num_rois, 5)`` boxes ``(0, x1, y1, x2, y2)`` inside the image.
        """
        h, w = x.shape[-2:]
        t = torch.linspace(0, 1, self.num_rois, device=x.device)
        x1, y1 = t * w * 0.5, (1 - t) * h * 0.5
        return torch.stack(
            [torch.zeros_like(t), x1, y1, x1 + w * 0.5, y1 + h * 0.5], dim=1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Backbone, RPN head and RoI head on :meth:`fixed_rois`.

        Args:
            x (Tensor): Images ``(1, 3, H, W)``.

        Returns:
            tuple[Tensor]: ``cls_score (num_rois, num_classes + 1)``,
            ``bbox_pred`` and the RPN maps.
        """
        from mmkd.models.distillers.roi_seams import roi_seam
        feats = self.detector.extract_feat(x)
        rpn_cls, rpn_reg = self.detector.rpn_head(feats)
        roi, rois = roi_seam(self.detector.roi_head,
                             'detector'), self.fixed_rois(x)
        # every stage of a cascade runs at test time (on as many RoIs)
        outs = [
            roi.bbox_forward(stage, feats, rois)
            for stage in range(roi.num_stages)
        ]
        return (*[o['cls_score'] for o in outs],
                *[o['bbox_pred'] for o in outs], *rpn_cls, *rpn_reg)


def detector_complexity(detector: nn.Module,
                        shape: Sequence[int],
                        num_rois: int = 300) -> dict:
    """``{'params': int, 'flops': int}`` of a detector at ``(H, W)``.

    Args:
        detector (nn.Module): A two-stage detector (eval mode is set).
        shape (Sequence[int]): Input ``(H, W)``, e.g. ``(600, 1000)``.
        num_rois (int): RoIs through the RoI head. Defaults to 300.
    """
    from mmengine.analysis import get_model_complexity_info
    core = DetectorCore(detector.eval(), num_rois)
    with torch.no_grad():
        info = get_model_complexity_info(
            core, input_shape=(3, *shape), show_table=False, show_arch=False)
    return dict(params=int(info['params']), flops=int(info['flops']))
