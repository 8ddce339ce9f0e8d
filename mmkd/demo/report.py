"""Results, figures and the markdown report of the demo (tools/demo.py)."""
import glob
import json
import os.path as osp

import cv2
import numpy as np

from mmkd.analysis.logs import read_json_lines
from mmkd.analysis.speed import (build_deployed, count_parameters,
                                 time_inference)
from mmkd.engine.config_check import load_cfg

NAMES = dict(
    teacher='Teacher', student='Student alone', distilled='Student distilled')


def collect_run(config: str, ckpt: str, run_dir: str, test_dir: str,
                options: list) -> dict:
    """Test metrics and model size of one run."""
    logs = glob.glob(osp.join(test_dir, '*', '*.json'))
    if not logs:
        raise RuntimeError(f'no test log under {test_dir}')
    tested = [
        x for x in read_json_lines(osp.join(test_dir, '*', '*.json'))
        if 'coco/bbox_mAP' in x
    ]
    # CocoMetric reports nothing when a model detects nothing at all (a
    # very short training): that is an mAP of 0.
    metrics = tested[-1] if tested else {
        'coco/bbox_mAP': 0.0,
        'coco/bbox_mAP_50': 0.0
    }
    cfg = load_cfg(config, options)
    model = build_deployed(cfg, ckpt)
    return dict(
        config=config,
        ckpt=ckpt,
        cfg=cfg,
        mAP=metrics['coco/bbox_mAP'],
        mAP50=metrics['coco/bbox_mAP_50'],
        params=count_parameters(model))


def measure_speed(results: dict, *, images: int = 20, rounds: int = 3) -> None:
    """ms/image of every model, interleaved round by round so that they
    share the machine's state; the median round is kept."""
    from mmengine.runner import Runner
    first = next(iter(results.values()))['cfg']
    loader_cfg = first.test_dataloader.copy()
    loader_cfg.update(batch_size=1, num_workers=0)
    loader = Runner.build_dataloader(loader_cfg)
    batches = []
    for data in loader:
        batches.append(data)
        if len(batches) == images:
            break
    models = {
        name: build_deployed(r['cfg'], r['ckpt'])
        for name, r in results.items()
    }
    times = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            speed = time_inference(model, batches, warmup=2)
            times[name].append(speed['ms_per_image'])
    for name in models:
        results[name]['ms'] = float(np.median(times[name]))


def _cell(img: np.ndarray, boxes, labels, title: str) -> np.ndarray:
    """``img`` three times enlarged with labelled boxes under a title;
    ``labels`` are strings (a class name, with the score of a detection).
    """
    img = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    for box, label in zip(boxes, labels):
        x1, y1, x2, y2 = (int(round(v * 3)) for v in box)
        cv2.rectangle(img, (x1, y1), (x2, y2), (0, 255, 0), 1)
        cv2.putText(img, label, (x1, max(y1 - 3, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 0), 1,
                    cv2.LINE_AA)
    banner = np.full((18, img.shape[1], 3), 255, np.uint8)
    cv2.putText(banner, title, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([banner, img], axis=0)


def _ground_truth(coco: dict, image_id: int) -> tuple:
    names = {c['id']: c['name'] for c in coco['categories']}
    anns = [a for a in coco['annotations'] if a['image_id'] == image_id]
    boxes = [(x, y, x + w, y + h) for x, y, w, h in (a['bbox'] for a in anns)]
    return boxes, [names[a['category_id']] for a in anns]


def _detections(sample, classes, score_thr: float) -> tuple:
    pred = sample.pred_instances
    keep = pred.scores >= score_thr
    boxes = pred.bboxes[keep].tolist()
    labels = [
        f'{classes[int(label)]} {float(score):.2f}'
        for label, score in zip(pred.labels[keep], pred.scores[keep])
    ]
    return boxes, labels


def draw_side_by_side(results: dict,
                      data_root: str,
                      path: str,
                      num_images: int = 4,
                      score_thr: float = 0.5) -> str:
    """The same test images, one per row: the ground truth, then the
    detections above ``score_thr`` of the teacher, the student alone and
    the distilled student, each labelled with its class and score."""
    from mmdet.apis import inference_detector
    ann_file = osp.join(data_root, 'annotations', 'instances_test.json')
    with open(ann_file) as f:
        coco = json.load(f)
    models = {}
    for name, res in results.items():
        # the figure shows the weights: a checkpoint that does not fit
        # exactly is refused, not drawn with random layers
        models[name] = build_deployed(res['cfg'], res['ckpt'], strict=True)
        models[name].cfg = res['cfg']
    first = next(iter(results.values()))['cfg']
    classes = first.test_dataloader.dataset.metainfo.classes
    rows = []
    for image in coco['images'][:num_images]:
        img_path = osp.join(data_root, 'test', image['file_name'])
        img = cv2.imread(img_path)
        cells = [_cell(img, *_ground_truth(coco, image['id']), 'Ground truth')]
        for name, model in models.items():
            sample = inference_detector(model, img_path)
            cells.append(
                _cell(img, *_detections(sample, classes, score_thr),
                      f'{NAMES[name]} (score >= {score_thr})'))
        rows.append(np.concatenate(cells, axis=1))
    cv2.imwrite(path, np.concatenate(rows, axis=0))
    return path


def write_report(results: dict, figures: dict, path: str, *, minutes: float,
                 quick: bool) -> str:
    t, s, d = results['teacher'], results['student'], results['distilled']
    lines = ['# mmkd demo' + (' (quick)' if quick else ''), '']
    if quick:
        lines += [
            'Quick mode checks the pipeline, not the numbers: the dataset, '
            'three trainings, their evaluation, the timing, the figures and '
            'this report all ran. One epoch on 48 images is too short to '
            'learn, so the mAPs below say nothing about distillation; run '
            '`bash tools/run_demo.sh` without --quick for the result.', ''
        ]
    lines += [
        'Faster R-CNN on the generated dataset (test split), '
        f'{minutes:.1f} min on this machine.', '',
        '| model | params (M) | ms/image | mAP | mAP@0.5 |',
        '|---|---:|---:|---:|---:|'
    ]
    for name, res in results.items():
        lines.append(f"| {NAMES[name]} | {res['params'] / 1e6:.2f} | "
                     f"{res['ms']:.1f} | {res['mAP']:.3f} | "
                     f"{res['mAP50']:.3f} |")
    gap = t['mAP'] - s['mAP']
    if gap > 0:
        share = f"{(d['mAP'] - s['mAP']) / gap:.0%}"
    else:
        share = ('not defined: the teacher does not score above the '
                 'student alone')
    lines += [
        '', f"Gain of distillation over the student alone: "
        f"{d['mAP'] - s['mAP']:+.3f} mAP, {d['mAP50'] - s['mAP50']:+.3f} "
        'mAP@0.5.', f'Share of the teacher-student gap closed (mAP): {share}.',
        '', f"![detections]({osp.basename(figures['detections'])})", ''
    ]
    text = '\n'.join(lines)
    with open(path, 'w') as f:
        f.write(text)
    return text
