"""What the distiller asks of a RoI head, whatever its family.

A seam wraps one detector's RoI head and answers, per stage (a Faster or
Mask R-CNN head has one stage, a Cascade R-CNN head one per cascade
stage):

- ``sample``: assign and sample proposals with the stage's assigner and
  sampler (the student's RoIs, sampled once);
- ``bbox_forward``: run the stage's box head on given RoIs (the student's
  and, without gradients, the teacher's on the same RoIs);
- ``bbox_targets`` / ``bbox_loss``: the stage's targets and hard losses;
- ``mask_loss`` / ``mask_forward``: the mask head's own loss on the
  sampled positives, and its logits on given RoIs;
- ``refine``: the next stage's proposals (a cascade's refined boxes);
- ``ensemble_logits`` / ``ensemble_mask_logits``: the class (mask) logits
  the detector predicts at test time for given RoIs (a cascade's mean over
  its stages).

Each family's file is the only place where mmkd touches MMDetection's
internals of that family; it lists them in ``INTERNALS``, and
:func:`check_internals` names the file when an MMDetection upgrade renamed
one of them.
"""
import os.path as osp
from typing import List, Optional, Tuple

import mmdet
from torch import Tensor, nn

from mmkd.utils.errors import MMKDError


class MissingInternalError(MMKDError, RuntimeError):
    """The installed MMDetection lacks a member a seam relies on."""


def check_internals(internals: dict, path: str) -> None:
    """Raise ``MissingInternalError`` naming ``path`` (the seam's file) when
    a class of ``internals`` (``{class: (member, ...)}``) lacks a member."""
    for cls, members in internals.items():
        for member in members:
            if not hasattr(cls, member):
                raise MissingInternalError(
                    f'{_repo_path(path)} relies on {cls.__name__}.{member}, '
                    f'which MMDetection {mmdet.__version__} does not have; '
                    'install mmdet==3.3.0, or adapt that file (the one '
                    f'place mmkd touches {cls.__name__} internals)')


def _repo_path(path: str) -> str:
    """``mmkd/models/...`` of a module file."""
    parts = osp.abspath(path).split(osp.sep)
    return '/'.join(parts[len(parts) - 1 - parts[::-1].index('mmkd'):])


def box_coding(bbox_head: nn.Module) -> tuple:
    """What must be equal for two heads' box deltas to be in the same
    units: the coder's type, target means and stds, and whether the head
    regresses decoded boxes."""
    coder = bbox_head.bbox_coder
    means, stds = getattr(coder, 'means', None), getattr(coder, 'stds', None)
    return (type(coder).__name__,
            None if means is None else tuple(float(m) for m in means),
            None if stds is None else tuple(float(s) for s in stds),
            bool(bbox_head.reg_decoded_bbox))


class RoIHeadSeam:
    """One detector's RoI head, stage by stage.

    Args:
        roi_head (nn.Module): the detector's ``roi_head``.
    """
    num_stages = 1

    def __init__(self, roi_head: nn.Module) -> None:
        self.head = roi_head

    @property
    def with_mask(self) -> bool:
        return bool(getattr(self.head, 'with_mask', False))

    def stage_name(self, stage: int) -> str:
        """The config key of a stage's box head (for messages)."""
        return 'roi_head.bbox_head'

    # Per-stage parts, given by each family.
    def bbox_head(self, stage: int) -> nn.Module:
        raise NotImplementedError

    def stage_weight(self, stage: int) -> float:
        return 1.0

    def _assigner_sampler(self, stage: int) -> tuple:
        raise NotImplementedError

    def _train_cfg(self, stage: int):
        raise NotImplementedError

    def bbox_forward(self, stage: int, feats: Tuple[Tensor],
                     rois: Tensor) -> dict:
        """``cls_score`` ``(num_rois, num_classes + 1)``, ``bbox_pred``
        ``(num_rois, 4 or 4 * num_classes)`` and ``bbox_feats``."""
        raise NotImplementedError

    def mask_loss(self, stage: int, feats: Tuple[Tensor],
                  sampling_results: list, bbox_out: dict,
                  batch_gt_instances: list) -> Tuple[dict, Tensor]:
        """The mask head's losses on the sampled positives and its logits
        there, ``(num_pos, num_classes or 1, M, M)``."""
        raise NotImplementedError

    def mask_forward(self, stage: int, feats: Tuple[Tensor],
                     rois: Tensor) -> Tensor:
        """Mask logits ``(num_rois, num_classes or 1, M, M)`` on ``rois``."""
        raise NotImplementedError

    def refine(self, stage: int, sampling_results: list, bbox_out: dict,
               rois: Tensor, targets: tuple,
               batch_img_metas: List[dict]) -> Optional[list]:
        """The next stage's proposals; None when there is no next stage."""
        return None

    def ensemble_logits(self, feats: Tuple[Tensor], rois: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """The class logits the detector predicts for ``rois`` at test
        time."""
        return self.bbox_forward(0, feats, rois)['cls_score']

    def ensemble_mask_logits(self, feats: Tuple[Tensor],
                             rois: Tensor) -> Tensor:
        """The mask logits the detector predicts for ``rois`` (boxes it
        detected) at test time."""
        return self.mask_forward(0, feats, rois)

    # The same for every family: MMDetection's public head methods.
    def sample(self, stage: int, feats: Tuple[Tensor], proposals: list,
               batch_gt_instances: list,
               batch_gt_instances_ignore: list) -> list:
        """Assign and sample each image's ``proposals`` (InstanceData with
        ``bboxes``; renamed ``priors`` in place, as MMDetection does)."""
        assigner, sampler = self._assigner_sampler(stage)
        results = []
        for i, props in enumerate(proposals):
            props.priors = props.pop('bboxes')
            assign = assigner.assign(props, batch_gt_instances[i],
                                     batch_gt_instances_ignore[i])
            results.append(
                sampler.sample(
                    assign,
                    props,
                    batch_gt_instances[i],
                    feats=[f[i][None] for f in feats]))
        return results

    def bbox_targets(self, stage: int, sampling_results: list) -> tuple:
        """``(labels, label_weights, bbox_targets, bbox_weights)`` of the
        sampled RoIs, concatenated over the images."""
        return self.bbox_head(stage).get_targets(sampling_results,
                                                 self._train_cfg(stage))

    def bbox_loss(self, stage: int, bbox_out: dict, rois: Tensor,
                  targets: tuple) -> dict:
        """The stage's own losses (``loss_cls``, ``acc``, ``loss_bbox``)."""
        return self.bbox_head(stage).loss(bbox_out['cls_score'],
                                          bbox_out['bbox_pred'], rois,
                                          *targets)
