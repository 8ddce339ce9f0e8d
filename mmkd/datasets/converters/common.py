"""Helpers shared by the dataset converters (COCO json output, counters)."""
import json
import logging
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Tuple

logger = logging.getLogger('mmkd.converters')


class ConversionStats(Counter):
    """Counts of what a converter kept and skipped, e.g. ``malformed_lines``.

    A ``Counter``; ``report()`` renders it one ``key: count`` per line.
    """

    def report(self) -> str:
        return '\n'.join(f'{k}: {v}' for k, v in sorted(self.items()))


def coco_categories(classes: Sequence[str]) -> List[dict]:
    """COCO ``categories`` with ids ``1..len(classes)`` in that order."""
    return [dict(id=i + 1, name=name) for i, name in enumerate(classes)]


def clip_box(box: Sequence[float], width: float,
             height: float) -> Tuple[Tuple[float, ...], bool]:
    """Clip ``(x1, y1, x2, y2)`` to ``[0, width] x [0, height]``.

    Returns:
        tuple: The clipped box and whether anything changed.
    """
    x1, y1, x2, y2 = box
    clipped = (min(max(x1, 0.), width), min(max(y1, 0.), height),
               min(max(x2, 0.), width), min(max(y2, 0.), height))
    return clipped, clipped != tuple(box)


def coco_annotation(ann_id: int, image_id: int, category_id: int,
                    box: Sequence[float], **extra) -> dict:
    """A COCO annotation of an ``(x1, y1, x2, y2)`` box (``w = x2 - x1``)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=category_id,
        bbox=[x1, y1, w, h],
        area=w * h,
        iscrowd=0,
        **extra)


def write_json(coco: dict, path: str) -> None:
    """Write ``coco`` to ``path`` atomically (a temporary file, renamed:
    never half a file under ``path``), creating the folder."""
    from mmkd.engine.atomic_backend import atomic_write
    atomic_write(json.dumps(coco).encode(), path)


def read_id_list(path: str) -> List[str]:
    """First whitespace-separated token of every non-empty line."""
    with open(path) as f:
        return [line.split()[0] for line in f if line.strip()]


def image_size(path: str) -> Optional[Tuple[int, int]]:
    """``(width, height)`` of an image file (header only), None if absent."""
    if not osp.isfile(path):
        return None
    from PIL import Image
    with Image.open(path) as img:
        return img.size
