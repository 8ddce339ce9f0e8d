"""The student's targets, computed once per batch and shared by its own
losses and the distillation terms."""
import copy
from typing import List

import torch
from mmdet.models.utils import images_to_levels
from mmdet.structures import SampleList
from mmdet.structures.bbox import cat_boxes
from torch import Tensor, nn


def class_agnostic(batch_data_samples: SampleList) -> SampleList:
    """Copies of the samples with every label 0, as the RPN wants."""
    rpn_samples = copy.deepcopy(batch_data_samples)
    for sample in rpn_samples:
        sample.gt_instances.labels = torch.zeros_like(
            sample.gt_instances.labels)
    return rpn_samples


def anchor_targets(head: nn.Module, cls_scores: List[Tensor], gts: list,
                   metas: list, gts_ignore: list) -> dict:
    """The student's anchor targets (assignment and sampling), per level:
    ``anchors``, ``labels``, ``label_weights``, ``bbox_targets``,
    ``bbox_weights`` (lists of ``(N, num_level_anchors[, 4])``) and
    ``avg_factor``."""
    sizes = [score.shape[-2:] for score in cls_scores]
    anchors, valid = head.get_anchors(
        sizes, metas, device=cls_scores[0].device)
    labels, label_weights, bbox_targets, bbox_weights, avg_factor = \
        head.get_targets(anchors, valid, gts, metas,
                         batch_gt_instances_ignore=gts_ignore)
    num_level = [level.size(0) for level in anchors[0]]
    all_anchors = images_to_levels([cat_boxes(a) for a in anchors], num_level)
    return dict(
        anchors=all_anchors,
        labels=labels,
        label_weights=label_weights,
        bbox_targets=bbox_targets,
        bbox_weights=bbox_weights,
        avg_factor=avg_factor)
