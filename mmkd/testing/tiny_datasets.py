"""Tiny detection datasets that the tests write: COCO json and VOC XML.

Every image is 64 x 64 with one or two boxes of at least 32 px a side
(``voc0712.py`` drops smaller boxes with ``bbox_min_size=32``), labelled
with the first two classes of the config under test.
"""
import json
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np

IMG_SIZE = 64
# (x1, y1, x2, y2, class index) of each image's objects.
OBJECTS = [
    [(4, 6, 44, 50, 0)],
    [(10, 8, 58, 44, 1), (20, 20, 60, 60, 0)],
    [(6, 10, 50, 58, 1)],
]


def _write_image(path: str, index: int) -> None:
    """Noise with the objects drawn as filled rectangles."""
    rng = np.random.default_rng(index)
    img = rng.integers(0, 128, (IMG_SIZE, IMG_SIZE, 3), dtype=np.uint8)
    for x1, y1, x2, y2, label in OBJECTS[index]:
        color = (255, 64, 64) if label == 0 else (64, 255, 64)
        cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), color, thickness=-1)
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, img)


def write_coco(root: str,
               classes: Sequence[str],
               splits: Dict[str, Sequence[int]] = None) -> None:
    """``root/images/*.jpg`` and ``root/annotations/<split>.json``.

    Args:
        root (str): Output folder.
        classes (Sequence[str]): Category names, in the dataset's order;
            the objects use the first two.
        splits (dict): Split name -> indices into :data:`OBJECTS`.
            Defaults to ``train`` = images 0 and 1, ``val`` = image 2.
    """
    splits = splits or dict(train=[0, 1], val=[2])
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(classes)]
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for split, indices in splits.items():
        images, annotations = [], []
        for index in indices:
            name = f'{index:06d}.jpg'
            _write_image(osp.join(root, 'images', name), index)
            images.append(
                dict(
                    id=index + 1,
                    file_name=name,
                    width=IMG_SIZE,
                    height=IMG_SIZE))
            for x1, y1, x2, y2, label in OBJECTS[index]:
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=index + 1,
                        category_id=label + 1,
                        bbox=[x1, y1, x2 - x1, y2 - y1],
                        area=(x2 - x1) * (y2 - y1),
                        # the drawn rectangle, for mask heads
                        segmentation=[[x1, y1, x2, y1, x2, y2, x1, y2]],
                        iscrowd=0))
        with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
            json.dump(
                dict(
                    images=images,
                    annotations=annotations,
                    categories=categories), f)


def _voc_xml(index: int, classes: Sequence[str]) -> str:
    objects = ''.join(
        f'<object><name>{classes[label]}</name><difficult>0</difficult>'
        f'<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
        f'<ymax>{y2}</ymax></bndbox></object>'
        for x1, y1, x2, y2, label in OBJECTS[index])
    return (f'<annotation><filename>{index:06d}.jpg</filename><size>'
            f'<width>{IMG_SIZE}</width><height>{IMG_SIZE}</height>'
            f'<depth>3</depth></size>{objects}</annotation>')


def write_voc(root: str, classes: Sequence[str]) -> None:
    """A VOCdevkit-style tree: VOC2007 trainval (image 0) and test
    (image 2), VOC2012 trainval (image 1)."""
    layout = {
        ('VOC2007', 'trainval'): [0],
        ('VOC2007', 'test'): [2],
        ('VOC2012', 'trainval'): [1]
    }
    for (year, split), indices in layout.items():
        sub = osp.join(root, year)
        os.makedirs(osp.join(sub, 'Annotations'), exist_ok=True)
        os.makedirs(osp.join(sub, 'ImageSets', 'Main'), exist_ok=True)
        for index in indices:
            _write_image(
                osp.join(sub, 'JPEGImages', f'{index:06d}.jpg'), index)
            with open(osp.join(sub, 'Annotations', f'{index:06d}.xml'),
                      'w') as f:
                f.write(_voc_xml(index, classes))
        with open(osp.join(sub, 'ImageSets', 'Main', f'{split}.txt'),
                  'w') as f:
            f.write(''.join(f'{index:06d}\n' for index in indices))
