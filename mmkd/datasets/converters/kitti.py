"""KITTI 2D object labels (``label_2/*.txt``) -> COCO json.

Each label line has 15 space-separated fields (16 with a score, which is
ignored)::

    type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y

Only ``classes`` (default Car / Pedestrian / Cyclist, the classes KITTI
evaluates) are kept; the other KITTI types (Van, Truck, Person_sitting, Tram,
Misc, DontCare) are dropped and counted as ``dropped/<type>``. Nothing is
silently wrong: a line with the wrong number of fields, a non-numeric or
non-finite value, ``x2 <= x1`` / ``y2 <= y1`` or an unknown type is skipped,
counted (``malformed_lines``) and logged as ``file:line: reason``. Boxes are
clipped to the image (``clipped``); boxes left with zero area are skipped
(``zero_area``). Frames whose image is missing are skipped with a warning
(``missing_images``), and so are split ids without a label file
(``missing_labels``).

COCO boxes are ``[x1, y1, x2 - x1, y2 - y1]`` (KITTI's coordinates are
continuous pixel positions); annotations also keep KITTI's ``truncated``
and ``occluded`` for difficulty filtering.
"""
import math
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Tuple

from .common import (ConversionStats, clip_box, coco_annotation,
                     coco_categories, image_size, logger)

KITTI_CLASSES = ('Car', 'Pedestrian', 'Cyclist')
KITTI_OTHER_TYPES = ('Van', 'Truck', 'Person_sitting', 'Tram', 'Misc',
                     'DontCare')


def parse_label_line(line: str) -> dict:
    """Parse one KITTI label line.

    Args:
        line (str): A line of a ``label_2`` file.

    Returns:
        dict: ``type``, ``truncated``, ``occluded`` and ``bbox``
        ``(x1, y1, x2, y2)``.

    Raises:
        ValueError: With the reason when the line is malformed.
    """
    fields = line.split()
    if len(fields) not in (15, 16):
        raise ValueError(f'expected 15 fields (16 with score), got '
                         f'{len(fields)}')
    try:
        values = [float(v) for v in fields[1:]]
    except ValueError as e:
        raise ValueError(f'non-numeric field ({e})') from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError('non-finite field')
    x1, y1, x2, y2 = values[3:7]
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f'empty box x1={x1} y1={y1} x2={x2} y2={y2} '
                         f'(needs x2 > x1 and y2 > y1)')
    return dict(
        type=fields[0],
        truncated=values[0],
        occluded=int(values[1]),
        bbox=(x1, y1, x2, y2))


def read_label_file(path: str, classes: Sequence[str],
                    stats: ConversionStats) -> List[dict]:
    """Objects of ``classes`` in a label file; the rest counted / logged."""
    objects = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = parse_label_line(line)
                if obj['type'] not in classes + KITTI_OTHER_TYPES:
                    raise ValueError(f"unknown type {obj['type']!r}")
            except ValueError as e:
                stats['malformed_lines'] += 1
                logger.warning('%s:%d: %s; line skipped', path, lineno, e)
                continue
            if obj['type'] not in classes:
                stats[f"dropped/{obj['type']}"] += 1
                continue
            objects.append(obj)
    return objects


def split_ids(ids: Sequence[str],
              val_ratio: float,
              seed: int = 0) -> Dict[str, List[str]]:
    """Deterministic random ``train`` / ``val`` split of frame ids.

    The ids are sorted, shuffled with ``random.Random(seed)`` and the first
    ``round(val_ratio * len(ids))`` go to ``val``; both lists come back
    sorted, so the result depends only on the id set, ratio and seed.
    """
    if not 0 <= val_ratio <= 1:
        raise ValueError(f'val_ratio must be in [0, 1], got {val_ratio}.')
    shuffled = sorted(ids)
    random.Random(seed).shuffle(shuffled)
    num_val = int(round(val_ratio * len(shuffled)))
    return dict(
        train=sorted(shuffled[num_val:]), val=sorted(shuffled[:num_val]))


def convert_split(frame_ids: Sequence[str],
                  label_dir: str,
                  image_dir: str,
                  classes: Sequence[str] = KITTI_CLASSES,
                  image_ext: str = '.png',
                  stats: Optional[ConversionStats] = None) -> dict:
    """COCO dict of some frames.

    Args:
        frame_ids (Sequence[str]): Frame ids, e.g. ``'000123'``.
        label_dir (str): Folder of ``<id>.txt`` label files.
        image_dir (str): Folder of ``<id><image_ext>`` images; COCO
            ``file_name`` is relative to it.
        classes (Sequence[str]): KITTI types to keep (category ids 1..n).
        image_ext (str): Image extension. Defaults to ``'.png'``.
        stats (ConversionStats, optional): Updated in place.

    Returns:
        dict: COCO json (``images``, ``annotations``, ``categories``).
    """
    stats = ConversionStats() if stats is None else stats
    classes = tuple(classes)
    coco = dict(images=[], annotations=[], categories=coco_categories(classes))
    for index, frame_id in enumerate(sorted(frame_ids)):
        size = _frame_size(frame_id, label_dir, image_dir, image_ext, stats)
        if size is None:
            continue
        image_id = index + 1  # COCO ids start at 1; file_name keeps the id
        coco['images'].append(
            dict(
                id=image_id,
                file_name=frame_id + image_ext,
                width=size[0],
                height=size[1]))
        for obj in read_label_file(
                osp.join(label_dir, frame_id + '.txt'), classes, stats):
            _add_object(coco, obj, image_id, size, classes, stats)
        stats['images'] += 1
    return coco


def _frame_size(frame_id: str, label_dir: str, image_dir: str, image_ext: str,
                stats: ConversionStats) -> Optional[Tuple[int, int]]:
    """Image ``(width, height)``; None (counted, logged) if a file is
    missing."""
    label_file = osp.join(label_dir, frame_id + '.txt')
    if not osp.isfile(label_file):
        stats['missing_labels'] += 1
        logger.warning('label file %s is missing; frame skipped', label_file)
        return None
    image_file = osp.join(image_dir, frame_id + image_ext)
    size = image_size(image_file)
    if size is None:
        stats['missing_images'] += 1
        logger.warning('image %s is missing; frame %s skipped', image_file,
                       frame_id)
    return size


def _add_object(coco: dict, obj: dict, image_id: int, size: Tuple[int, int],
                classes: Tuple[str, ...], stats: ConversionStats) -> None:
    box, changed = clip_box(obj['bbox'], *size)
    stats['clipped'] += int(changed)
    if box[2] <= box[0] or box[3] <= box[1]:
        stats['zero_area'] += 1
        return
    coco['annotations'].append(
        coco_annotation(
            len(coco['annotations']) + 1,
            image_id,
            classes.index(obj['type']) + 1,
            box,
            truncated=obj['truncated'],
            occluded=obj['occluded']))
    stats['annotations'] += 1


def kitti_to_coco(
    label_dir: str,
    image_dir: str,
    splits: Dict[str, Sequence[str]],
    classes: Sequence[str] = KITTI_CLASSES,
    image_ext: str = '.png'
) -> Tuple[Dict[str, dict], Dict[str, ConversionStats]]:
    """Convert several splits (e.g. from :func:`split_ids`).

    Returns:
        tuple[dict, dict]: Split name -> COCO dict, split name -> stats.
    """
    outputs, all_stats = {}, {}
    for name, ids in splits.items():
        all_stats[name] = ConversionStats()
        outputs[name] = convert_split(ids, label_dir, image_dir, classes,
                                      image_ext, all_stats[name])
    return outputs, all_stats


def list_frame_ids(label_dir: str) -> List[str]:
    """Sorted ids of the ``*.txt`` files in ``label_dir``."""
    if not osp.isdir(label_dir):
        raise FileNotFoundError(f'KITTI label folder {label_dir!r} does not '
                                f'exist; pass training/label_2.')
    return sorted(f[:-4] for f in os.listdir(label_dir) if f.endswith('.txt'))
