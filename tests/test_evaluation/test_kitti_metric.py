"""KittiMetric on a hand-made set with hand-computed APs."""
import json

import numpy as np
import pytest
import torch

from mmkd.evaluation.metrics.kitti_metric import (class_ap, interpolated_ap,
                                                  match_image)
from mmkd.registry import METRICS

CLASSES = ('Car', 'Pedestrian', 'Cyclist')
# image 1: cars A, B; image 2: car C, pedestrian P, a crowd (ignored) car.
GT = [
    (1, 1, [0, 0, 10, 10]),  # A (x, y, w, h)
    (1, 1, [20, 20, 10, 10]),  # B
    (2, 1, [40, 40, 10, 10]),  # C
    (2, 2, [60, 0, 10, 10]),  # P
]
CROWD = (2, 1, [80, 0, 20, 20])
# (image, label, score, x1, y1, x2, y2)
DETS = [
    (1, 0, .9, 0, 0, 10, 10),  # A, IoU 1: TP
    (1, 0, .8, 0, 0, 10, 10),  # A again: FP (duplicate)
    (2, 0, .7, 40, 40, 50, 46),  # C at IoU 0.6 < 0.7: FP for a car
    (1, 0, .6, 20, 20, 30, 30),  # B: TP
    (2, 0, .95, 80, 0, 100, 20),  # on the crowd box: ignored
    (2, 1, .5, 60, 0, 70, 6),  # P at IoU 0.6 >= 0.5: TP
]
# Car, sorted by score (crowd match dropped): TP FP FP TP over 3 cars:
#   recall    1/3 1/3 1/3 2/3,  precision 1 1/2 1/3 1/2.
# R40: r = k/40; k = 1..13 (r <= 1/3) -> 1; k = 14..26 (r <= 2/3) -> 1/2;
#   k = 27..40 -> 0.  AP = (13 * 1 + 13 * 0.5) / 40 = 0.4875.
# R11: r = 0 .. 0.3 -> 1 (4 points); 0.4 .. 0.6 -> 1/2 (3 points); rest 0.
#   AP = (4 + 1.5) / 11 = 0.5.
# Pedestrian: one TP for one ground truth -> AP 1 in both modes.
# Cyclist: no ground truth -> not reported.


def _ann_file(tmp_path):
    anns = [
        dict(
            id=i + 1,
            image_id=img,
            category_id=cat,
            bbox=box,
            area=box[2] * box[3],
            iscrowd=0) for i, (img, cat, box) in enumerate(GT)
    ]
    img, cat, box = CROWD
    anns.append(
        dict(
            id=len(anns) + 1,
            image_id=img,
            category_id=cat,
            bbox=box,
            area=400,
            iscrowd=1))
    coco = dict(
        images=[
            dict(id=i, file_name=f'{i}.png', width=120, height=60)
            for i in (1, 2)
        ],
        annotations=anns,
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)])
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(coco))
    return str(path)


def _samples():
    samples = []
    for img in (1, 2):
        dets = [d for d in DETS if d[0] == img]
        samples.append(
            dict(
                img_id=img,
                ori_shape=(60, 120),
                pred_instances=dict(
                    bboxes=torch.tensor([d[3:] for d in dets],
                                        dtype=torch.float),
                    scores=torch.tensor([d[2] for d in dets]),
                    labels=torch.tensor([d[1] for d in dets]))))
    return samples


@pytest.mark.parametrize('mode,car_ap', [('R40', 0.4875), ('R11', 0.5)])
def test_kitti_ap_by_hand(tmp_path, mode, car_ap):
    metric = METRICS.build(
        dict(type='KittiMetric', ann_file=_ann_file(tmp_path), ap_mode=mode))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, _samples())
    results = metric.evaluate(size=2)
    assert results[f'kitti/Car_AP_{mode}'] == pytest.approx(car_ap)
    assert results[f'kitti/Pedestrian_AP_{mode}'] == pytest.approx(1.0)
    assert f'kitti/Cyclist_AP_{mode}' not in results
    assert results[f'kitti/mAP_{mode}'] == pytest.approx((car_ap + 1.0) / 2)
    assert 'kitti/bbox_mAP' in results  # COCO AP beside KITTI AP


def test_class_threshold_override(tmp_path):
    # At IoU 0.5 the C detection becomes a TP: TP FP TP TP over 3 cars:
    # recall 1/3 1/3 2/3 1, precision 1 1/2 2/3 3/4.
    # R40: k <= 13 -> 1; 14..26 -> 3/4; 27..40 -> 3/4.
    # AP = (13 + 27 * 0.75) / 40 = 0.83125.
    metric = METRICS.build(
        dict(
            type='KittiMetric',
            ann_file=_ann_file(tmp_path),
            class_iou_thrs=dict(Car=0.5)))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, _samples())
    assert metric.evaluate(2)['kitti/Car_AP_R40'] == pytest.approx(0.83125)


def test_difficulty_ignores_small_boxes(tmp_path):
    # "easy" needs boxes >= 40 px high: every box here is smaller, so no
    # class has a counted ground truth at that level.
    metric = METRICS.build(
        dict(
            type='KittiMetric',
            ann_file=_ann_file(tmp_path),
            difficulties=['easy']))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, _samples())
    results = metric.evaluate(2)
    assert 'kitti/Car_AP_R40' in results
    assert not any(k.endswith('_easy') for k in results)


def test_matching_and_ap_functions():
    gts = np.array([[0, 0, 10, 10], [20, 20, 30, 30.]])
    dets = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [21, 20, 30, 30.]])
    outcome = match_image(dets, gts, np.array([False, False]), 0.7)
    assert outcome.tolist() == [1, 0, 1]
    assert interpolated_ap(np.array([1, 0, 1]), 2, 'R11') == pytest.approx(
        (6 * 1 + 5 * 2 / 3) / 11)
    assert class_ap({}, {1: (gts, np.zeros(2, bool))}, 0.5) == 0.
    assert class_ap({}, {}, 0.5) is None
    with pytest.raises(ValueError, match='ap_mode'):
        METRICS.build(dict(type='KittiMetric', ap_mode='R20'))
