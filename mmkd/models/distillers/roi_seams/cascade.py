"""The seam of MMDetection's ``CascadeRoIHead`` (Cascade R-CNN and Cascade
Mask R-CNN): one box head (and mask head) per stage, each stage sampling
its RoIs from the previous stage's refined boxes.

The only file in which mmkd touches ``CascadeRoIHead``'s internals
(``_bbox_forward``, ``_mask_forward``, ``current_stage``); ``INTERNALS``
lists what it uses.
"""
from typing import List, Tuple

import torch
from mmdet.models.roi_heads import CascadeRoIHead
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor, nn

from .base import RoIHeadSeam, check_internals

INTERNALS = {
    CascadeRoIHead: ('_bbox_forward', '_mask_forward', 'mask_loss'),
    BBoxHead: ('get_targets', 'loss', 'refine_bboxes', 'regress_by_class'),
}


class CascadeSeam(RoIHeadSeam):
    """``CascadeRoIHead``: ``num_stages`` stages, weighted by the config's
    own ``stage_loss_weights``."""

    def __init__(self, roi_head: nn.Module) -> None:
        check_internals(INTERNALS, __file__)
        super().__init__(roi_head)
        self.num_stages = roi_head.num_stages

    def stage_name(self, stage: int) -> str:
        return f'roi_head.bbox_head[{stage}]'

    def bbox_head(self, stage: int) -> nn.Module:
        return self.head.bbox_head[stage]

    def stage_weight(self, stage: int) -> float:
        return float(self.head.stage_loss_weights[stage])

    def _assigner_sampler(self, stage: int) -> tuple:
        # samplers that look at the head (OHEM) read the current stage
        self.head.current_stage = stage
        return self.head.bbox_assigner[stage], self.head.bbox_sampler[stage]

    def _train_cfg(self, stage: int):
        return self.head.train_cfg[stage]

    def bbox_forward(self, stage: int, feats: Tuple[Tensor],
                     rois: Tensor) -> dict:
        return self.head._bbox_forward(stage, feats, rois)

    def mask_loss(self, stage: int, feats: Tuple[Tensor],
                  sampling_results: list, bbox_out: dict,
                  batch_gt_instances: list) -> Tuple[dict, Tensor]:
        out = self.head.mask_loss(stage, feats, sampling_results,
                                  batch_gt_instances)
        return out['loss_mask'], out['mask_preds']

    def mask_forward(self, stage: int, feats: Tuple[Tensor],
                     rois: Tensor) -> Tensor:
        return self.head._mask_forward(stage, feats, rois)['mask_preds']

    @torch.no_grad()
    def refine(self, stage: int, sampling_results: list, bbox_out: dict,
               rois: Tensor, targets: tuple, batch_img_metas: List[dict]):
        """The stage's boxes regressed by its own deltas (positives by
        their ground-truth class, the others by their best class; ground
        truths added as proposals dropped), as ``CascadeRoIHead.loss``
        refines them for the next stage; None after the last stage or
        when there is nothing to refine."""
        if stage == self.num_stages - 1:
            return None
        return self.bbox_head(stage).refine_bboxes(
            sampling_results, dict(bbox_out, rois=rois, bbox_targets=targets),
            batch_img_metas)

    def ensemble_logits(self, feats: Tuple[Tensor], rois: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """The cascade's test-time class logits for ``rois``: every stage
        runs on the boxes the previous stage regressed (by its best
        foreground class), and the stages' logits are averaged, as
        ``CascadeRoIHead.predict`` does before its softmax."""
        logits = []
        for stage in range(self.num_stages):
            out = self.bbox_forward(stage, feats, rois)
            logits.append(out['cls_score'])
            if stage < self.num_stages - 1:
                rois = self._regressed(stage, rois, out, batch_img_metas)
        return sum(logits) / len(logits)

    def ensemble_mask_logits(self, feats: Tuple[Tensor],
                             rois: Tensor) -> Tensor:
        """The logits of the mean of the stages' mask probabilities on
        ``rois``, the cascade's test-time mask (``merge_aug_masks``)."""
        probs = [
            self.mask_forward(stage, feats, rois).sigmoid()
            for stage in range(self.num_stages)
        ]
        return torch.logit(sum(probs) / len(probs), eps=1e-6)

    def _regressed(self, stage: int, rois: Tensor, out: dict,
                   batch_img_metas: List[dict]) -> Tensor:
        head = self.bbox_head(stage)
        labels = out['cls_score'][:, :-1].argmax(dim=1)
        boxes = rois[:, 1:].clone()
        for i, meta in enumerate(batch_img_metas):
            rows = rois[:, 0] == i
            if rows.any():
                boxes[rows] = get_box_tensor(
                    head.regress_by_class(rois[rows, 1:], labels[rows],
                                          out['bbox_pred'][rows], meta))
        return torch.cat([rois[:, :1], boxes], dim=1)
