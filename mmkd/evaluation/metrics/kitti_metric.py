"""KITTI 2D detection AP beside COCO AP.

KITTI scores each class at its own IoU threshold (Car 0.7, Pedestrian 0.5,
Cyclist 0.5; Geiger et al., CVPR 2012) with interpolated precision sampled
at 40 recall points ``{1/40, ..., 1}`` (the official metric since 2019,
"AP_R40") or 11 points ``{0, 0.1, ..., 1}`` (the original "AP_R11"):

    AP = mean_r max{precision(r') : recall(r') >= r}     (0 if none)

Matching is greedy by descending score, per image: a detection takes the
unmatched, non-ignored ground truth of highest IoU if that IoU reaches the
class threshold (true positive); otherwise, if it overlaps an ignored ground
truth (``iscrowd``) at the threshold, it is ignored; otherwise it is a false
positive. Boxes are continuous ``(x1, y1, x2, y2)`` (no ``+1``).

Difficulty levels (optional, KITTI's devkit): a ground truth counts at a
level if its box height, ``occluded`` and ``truncated`` (stored by
``kitti2coco``; 0 when absent) are within the limits below, otherwise it is
ignored; detections lower than the level's minimum height are dropped.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.evaluation.metrics import CocoMetric
from mmengine.logging import MMLogger

from mmkd.registry import METRICS

# Per-class IoU thresholds of the KITTI object benchmark.
KITTI_IOU_THRS = dict(Car=0.7, Pedestrian=0.5, Cyclist=0.5)
# level: (min box height px, max occlusion level, max truncation), KITTI
# devkit (cpp/evaluate_object.cpp: MIN_HEIGHT, MAX_OCCLUSION, MAX_TRUNCATION).
KITTI_DIFFICULTIES = dict(
    easy=(40, 0, 0.15), moderate=(25, 1, 0.30), hard=(25, 2, 0.50))
_RECALL_POINTS = {
    'R40': np.linspace(1 / 40, 1, 40),
    'R11': np.linspace(0, 1, 11),
}


def box_iou(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    """IoU of ``boxes (n, 4)`` with one ``box (4,)``, ``(x1, y1, x2, y2)``."""
    wh = np.clip(
        np.minimum(boxes[:, 2:], box[2:]) - np.maximum(boxes[:, :2], box[:2]),
        0, None)
    inter = wh[:, 0] * wh[:, 1]
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + (box[2] - box[0]) * (box[3] - box[1]) - inter
    return inter / np.maximum(union, np.finfo(float).eps)


def match_image(dets: np.ndarray, gts: np.ndarray, gt_ignore: np.ndarray,
                iou_thr: float) -> np.ndarray:
    """Outcome of each detection of one image and class.

    Args:
        dets (ndarray): ``(n, 4)`` boxes sorted by descending score.
        gts (ndarray): ``(m, 4)`` ground-truth boxes.
        gt_ignore (ndarray): ``(m,)`` bool, ground truths to ignore.
        iou_thr (float): The class's IoU threshold.

    Returns:
        ndarray: ``(n,)`` int, 1 true positive, 0 false positive, -1 ignored.
    """
    outcome = np.zeros(len(dets), dtype=np.int64)
    taken = np.zeros(len(gts), dtype=bool)
    for i, det in enumerate(dets):
        if not len(gts):
            continue
        ious = box_iou(gts, det)
        free = np.where(~gt_ignore & ~taken, ious, -1.)
        best = int(np.argmax(free))
        if free[best] >= iou_thr:
            outcome[i], taken[best] = 1, True
        elif np.any(ious[gt_ignore] >= iou_thr):
            outcome[i] = -1
    return outcome


def interpolated_ap(tp: np.ndarray, num_gt: int, mode: str = 'R40') -> float:
    """AP from outcomes in descending-score order (see module doc).

    Args:
        tp (ndarray): ``(n,)`` 1 / 0 per counted detection, sorted by
            descending score over the whole set.
        num_gt (int): Number of non-ignored ground truths (> 0).
        mode (str): ``'R40'`` or ``'R11'``.
    """
    tp_cum = np.cumsum(tp)
    recall = tp_cum / num_gt
    precision = tp_cum / np.arange(1, len(tp) + 1)
    ap = 0.
    for r in _RECALL_POINTS[mode]:
        reached = precision[recall >= r - 1e-12]
        ap += reached.max() if reached.size else 0.
    return float(ap / len(_RECALL_POINTS[mode]))


def class_ap(dets: Dict[int, Tuple[np.ndarray, np.ndarray]],
             gts: Dict[int, Tuple[np.ndarray, np.ndarray]],
             iou_thr: float,
             mode: str = 'R40') -> Optional[float]:
    """AP of one class over images; None when it has no ground truth.

    Args:
        dets (dict): ``img_id -> (boxes (n, 4), scores (n,))``.
        gts (dict): ``img_id -> (boxes (m, 4), ignore (m,) bool)``.
        iou_thr (float): IoU threshold.
        mode (str): ``'R40'`` or ``'R11'``.
    """
    num_gt = int(sum((~ignore).sum() for _, ignore in gts.values()))
    if num_gt == 0:
        return None
    scores, outcomes = [], []
    empty = (np.zeros((0, 4)), np.zeros(0, dtype=bool))
    for img_id, (boxes, img_scores) in dets.items():
        order = np.argsort(-img_scores, kind='stable')
        gt_boxes, gt_ignore = gts.get(img_id, empty)
        outcomes.append(
            match_image(boxes[order], gt_boxes, gt_ignore, iou_thr))
        scores.append(img_scores[order])
    if not scores:
        return 0.
    scores, outcomes = np.concatenate(scores), np.concatenate(outcomes)
    order = np.argsort(-scores, kind='stable')
    outcomes = outcomes[order]
    return interpolated_ap(outcomes[outcomes >= 0], num_gt, mode)


@METRICS.register_module()
class KittiMetric(CocoMetric):
    """COCO-style bbox AP (MMDetection's ``CocoMetric``) plus KITTI AP.

    Extra result keys (before the ``kitti/`` prefix): ``<Class>_AP_R40``
    (or ``_R11``) per class with ground truth, ``mAP_R40`` their mean, and
    with ``difficulties`` the same with a ``_<level>`` suffix.

    Args:
        ann_file (str, optional): COCO json (e.g. from ``kitti2coco``).
        class_iou_thrs (dict, optional): Overrides of ``KITTI_IOU_THRS``.
        default_iou_thr (float): Threshold of other classes. Defaults to 0.5.
        ap_mode (str): ``'R40'`` (default) or ``'R11'``.
        difficulties (Sequence[str], optional): Levels of
            ``KITTI_DIFFICULTIES`` to report; None evaluates all boxes once.
        **kwargs: Passed to ``CocoMetric`` (``metric`` must be ``'bbox'``).
    """
    default_prefix: Optional[str] = 'kitti'

    def __init__(self,
                 ann_file: Optional[str] = None,
                 class_iou_thrs: Optional[Dict[str, float]] = None,
                 default_iou_thr: float = 0.5,
                 ap_mode: str = 'R40',
                 difficulties: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        super().__init__(ann_file=ann_file, **kwargs)
        if self.metrics != ['bbox']:
            raise ValueError(f"KittiMetric evaluates boxes only; set "
                             f"metric='bbox', got {self.metrics}.")
        if ap_mode not in _RECALL_POINTS:
            raise ValueError(f'ap_mode must be one of {list(_RECALL_POINTS)}'
                             f', got {ap_mode!r}.')
        unknown = set(difficulties or ()) - set(KITTI_DIFFICULTIES)
        if unknown:
            raise ValueError(f'Unknown difficulties {sorted(unknown)}; use '
                             f'{list(KITTI_DIFFICULTIES)}.')
        self.class_iou_thrs = dict(KITTI_IOU_THRS, **(class_iou_thrs or {}))
        self.default_iou_thr = default_iou_thr
        self.ap_mode = ap_mode
        self.difficulties = list(difficulties or [])

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """COCO metrics of ``CocoMetric`` followed by the KITTI APs."""
        eval_results = super().compute_metrics(results)
        if self.format_only:
            return eval_results
        preds = [pred for _, pred in results]
        for level in [None] + self.difficulties:
            eval_results.update(self._kitti_aps(preds, level))
        MMLogger.get_current_instance().info('KITTI AP: ' + ', '.join(
            f'{k}={v:.4f}' for k, v in eval_results.items() if '_AP_' in k))
        return eval_results

    @staticmethod
    def _class_dets(preds: List[dict], label: int,
                    min_height: float) -> Dict[int, tuple]:
        """``img_id -> (boxes (n, 4), scores (n,))`` of one class."""
        dets = {}
        for pred in preds:
            keep = pred['labels'] == label
            boxes = pred['bboxes'][keep].astype(np.float64)
            high = boxes[:, 3] - boxes[:, 1] >= min_height
            dets[pred['img_id']] = (boxes[high], pred['scores'][keep][high])
        return dets

    def _kitti_aps(self, preds: List[dict],
                   level: Optional[str]) -> Dict[str, float]:
        suffix = f'_{self.ap_mode}' + (f'_{level}' if level else '')
        min_height = KITTI_DIFFICULTIES[level][0] if level else 0
        aps = {}
        for label, name in enumerate(self.dataset_meta['classes']):
            dets = self._class_dets(preds, label, min_height)
            gts = {
                img_id: self._gt_boxes(img_id, self.cat_ids[label], level)
                for img_id in dets
            }
            ap = class_ap(dets, gts,
                          self.class_iou_thrs.get(name, self.default_iou_thr),
                          self.ap_mode)
            if ap is not None:
                aps[f'{name}_AP{suffix}'] = ap
        if aps:
            aps[f'mAP{suffix}'] = float(np.mean(list(aps.values())))
        return aps

    def _gt_boxes(self, img_id: int, cat_id: int,
                  level: Optional[str]) -> Tuple[np.ndarray, np.ndarray]:
        """``(boxes (m, 4) xyxy, ignore (m,) bool)`` of one image / class."""
        anns = self._coco_api.load_anns(
            self._coco_api.get_ann_ids(img_ids=[img_id], cat_ids=[cat_id]))
        boxes = np.array([[x, y, x + w, y + h]
                          for x, y, w, h in (a['bbox'] for a in anns)],
                         dtype=np.float64)
        boxes = boxes.reshape(-1, 4)
        ignore = np.array(
            [bool(a.get('iscrowd', 0) or a.get('ignore', 0)) for a in anns],
            dtype=bool)
        if level is not None:
            min_h, max_occ, max_trunc = KITTI_DIFFICULTIES[level]
            outside = np.array([
                a['bbox'][3] < min_h or a.get('occluded', 0) > max_occ
                or a.get('truncated', 0) > max_trunc for a in anns
            ],
                               dtype=bool)
            ignore = ignore | outside
        return boxes, ignore
