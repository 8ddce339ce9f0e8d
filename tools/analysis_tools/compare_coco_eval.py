"""pycocotools' COCOeval vs faster-coco-eval: same numbers, how much faster.

    python tools/analysis_tools/compare_coco_eval.py \
        data/synthetic/annotations/instances_test.json [--repeats 3]

The predictions are the ground truth of ANN_FILE jittered, with random
scores, 20 % swapped to the look-alike class and three random false
positives per image, so that AP is informative (neither 0 nor 1). Both
metrics (``CocoMetric`` and mmkd's ``FastCocoMetric``) evaluate the same
predictions, interleaved, and the best time of each is kept.
"""
import argparse
import json
import time

import numpy as np
import torch


def jittered_predictions(ann_file, seed=0):
    """Per-image predictions: jittered ground truth with random scores and
    labels (so AP is neither 0 nor 1), plus random false positives."""
    rng = np.random.default_rng(seed)
    with open(ann_file) as f:
        coco = json.load(f)
    by_image = {im['id']: [] for im in coco['images']}
    for ann in coco['annotations']:
        by_image[ann['image_id']].append(ann)
    out = []
    for img_id, anns in by_image.items():
        boxes, labels = [], []
        for ann in anns:
            x, y, w, h = ann['bbox']
            jitter = rng.normal(0, 0.1, 4) * [w, h, w, h]
            boxes.append([x, y, x + w, y + h] + jitter)
            label = ann['category_id'] - 1
            labels.append(label if rng.random() > 0.2 else (label ^ 1))
        for _ in range(3):
            x, y = rng.uniform(0, 100, 2)
            boxes.append([x, y, x + rng.uniform(5, 30), y + 20])
            labels.append(int(rng.integers(0, 6)))
        out.append(
            dict(
                pred_instances=dict(
                    bboxes=torch.tensor(np.array(boxes), dtype=torch.float32),
                    scores=torch.tensor(
                        rng.uniform(0.05, 1, len(boxes)), dtype=torch.float32),
                    labels=torch.tensor(labels)),
                img_id=img_id,
                ori_shape=(64, 64)))
    return out


def evaluate(metric_type, ann_file, preds):
    """Metrics of ``preds`` and the seconds ``evaluate`` took."""
    import mmkd  # noqa: F401
    from mmkd.registry import METRICS
    with open(ann_file) as f:
        cats = sorted(json.load(f)['categories'], key=lambda c: c['id'])
    metric = METRICS.build(
        dict(type=metric_type, ann_file=ann_file, metric='bbox'))
    metric.dataset_meta = dict(classes=tuple(c['name'] for c in cats))
    metric.process({}, preds)
    start = time.perf_counter()
    results = metric.evaluate(size=len(preds))
    return results, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ann_file', help='a COCO-format annotation file')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args(argv)
    preds = jittered_predictions(args.ann_file)
    times = {'CocoMetric': [], 'FastCocoMetric': []}
    results = {}
    for _ in range(args.repeats):
        for name in times:
            results[name], seconds = evaluate(name, args.ann_file, preds)
            times[name].append(seconds)
    same = results['CocoMetric'] == results['FastCocoMetric']
    ref, fast = min(times['CocoMetric']), min(times['FastCocoMetric'])
    print(f'{len(preds)} images: pycocotools {ref:.2f} s, faster-coco-eval '
          f'{fast:.2f} s, speed-up {ref / fast:.1f}x; identical metrics: '
          f'{same}')
    for key, value in results['CocoMetric'].items():
        print(f'  {key:22s} {value:.3f} {results["FastCocoMetric"][key]:.3f}')


if __name__ == '__main__':
    main()
