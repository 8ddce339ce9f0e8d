"""The seam of MMDetection's ``StandardRoIHead`` (Faster and Mask R-CNN):
one box head, and optionally one mask head, on the sampled RoIs.

The only file in which mmkd touches ``StandardRoIHead``'s internals
(``_bbox_forward``, ``_mask_forward``); ``INTERNALS`` lists what it uses.
"""
from typing import Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from torch import Tensor, nn

from .base import RoIHeadSeam, check_internals

INTERNALS = {
    StandardRoIHead: ('_bbox_forward', '_mask_forward', 'mask_loss'),
    BBoxHead: ('get_targets', 'loss'),
}


class StandardSeam(RoIHeadSeam):
    """``StandardRoIHead``: one stage.

    The mask head trains as MMDetection trains it (``mask_loss``: on the
    positives of the box head's sampling, with the box features when the
    two share their RoI extractor).
    """

    def __init__(self, roi_head: nn.Module) -> None:
        check_internals(INTERNALS, __file__)
        super().__init__(roi_head)

    def bbox_head(self, stage: int) -> nn.Module:
        return self.head.bbox_head

    def _assigner_sampler(self, stage: int) -> tuple:
        return self.head.bbox_assigner, self.head.bbox_sampler

    def _train_cfg(self, stage: int):
        return self.head.train_cfg

    def bbox_forward(self, stage: int, feats: Tuple[Tensor],
                     rois: Tensor) -> dict:
        return self.head._bbox_forward(feats, rois)

    def mask_loss(self, stage: int, feats: Tuple[Tensor],
                  sampling_results: list, bbox_out: dict,
                  batch_gt_instances: list) -> Tuple[dict, Tensor]:
        out = self.head.mask_loss(feats, sampling_results,
                                  bbox_out['bbox_feats'], batch_gt_instances)
        return out['loss_mask'], out['mask_preds']

    def mask_forward(self, stage: int, feats: Tuple[Tensor],
                     rois: Tensor) -> Tensor:
        return self.head._mask_forward(feats, rois)['mask_preds']
