"""``CheckedCocoDataset``: MMDetection's ``CocoDataset`` with checked files
and counted box fixes.

mmkd's dataset configs (COCO, KITTI, ILSVRC DET and the generated dataset)
name it, ``type='CheckedCocoDataset'``; ``type='CocoDataset'`` builds
MMDetection's. It differs from MMDetection's in three ways:

- the annotation file is checked before use: it must exist, not be empty,
  be valid JSON and hold ``images``, ``annotations`` and ``categories``
  lists whose entries have the keys training needs, and boxes of 4 finite
  numbers; otherwise a ``DatasetError`` (a ``ValueError``) names the file,
  the problem and what to do, instead of a ``KeyError`` deep inside
  pycocotools (``data_check.py`` checks the rest before training and hands
  its parse of the file on to the dataset);
- boxes are fitted to their image: a box partly outside is clipped to it
  (MMDetection keeps it unclipped), a box entirely outside or with zero
  area (width or height below 1 px) is skipped (MMDetection drops those
  silently); one warning per annotation file gives the counts;
- images that fail to decode (``ImageDecodeError`` from
  ``CheckedLoadImageFromFile``) are skipped in training and fatal in
  testing; see ``CheckedCocoDataset.prepare_data``.
"""
import json
import logging
import os
import os.path as osp
from typing import List, NamedTuple, Optional, Tuple

import numpy as np
from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine.logging import print_log

from mmkd.registry import DATASETS
from mmkd.utils.errors import DatasetError, ImageDecodeError
from .image_sizes import listing

# The keys each entry needs (MMDetection's CocoDataset reads all of them).
REQUIRED_KEYS = dict(
    images=('id', 'file_name', 'width', 'height'),
    annotations=('id', 'image_id', 'category_id', 'bbox'),
    categories=('id', 'name'))
_FIX = ('regenerate it (tools/dataset_converters) or point ann_file at a '
        'COCO-format detection annotation file')


def _first_bad(path: str, key: str, entries: list, fields: tuple) -> None:
    """Raise for the first entry of ``entries`` that lacks a field."""
    wanted = set(fields)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.keys() >= wanted:
            missing = [
                f for f in fields
                if not isinstance(entry, dict) or f not in entry
            ]
            raise DatasetError(f'annotation file {path!r}: {key}[{i}] has '
                               f'no {missing}; {_FIX}')


def _check_boxes(path: str, annotations: list) -> np.ndarray:
    """Every ``bbox`` is 4 finite numbers; returns them as an ``(N, 4)``
    array (one numpy conversion: COCO's 860k boxes take under a second)."""
    boxes = [ann['bbox'] for ann in annotations]
    try:
        array = np.array(boxes)
        ok = array.dtype.kind in 'iuf' and array.shape == (len(boxes), 4)
    except ValueError:  # ragged lists
        ok = False
    if ok:
        bad = np.flatnonzero(~np.isfinite(array).all(axis=1)).tolist()
    else:
        bad = [
            i for i, box in enumerate(boxes)
            if not (isinstance(box, list) and len(box) == 4 and all(
                type(v) in (int, float) and np.isfinite(v) for v in box))
        ]
    if bad:
        raise DatasetError(
            f'annotation file {path!r}: annotations[{bad[0]}].bbox='
            f'{boxes[bad[0]]!r} is not [x, y, width, height] of finite '
            f'numbers ({len(bad)} such box(es)); fix or remove them, or '
            f'{_FIX}')
    return array.reshape(-1, 4).astype(np.float64)


def _check_entries(path: str, data: dict) -> np.ndarray:
    """The structure training needs; returns the boxes, ``(N, 4)``."""
    for key, fields in REQUIRED_KEYS.items():
        entries = data.get(key)
        if not isinstance(entries, list):
            raise DatasetError(f'annotation file {path!r} has no {key!r} '
                               f'list; {_FIX}')
        _first_bad(path, key, entries, fields)
    boxes = _check_boxes(path, data['annotations'])
    if not data['images']:
        raise DatasetError(f'annotation file {path!r} lists no images; '
                           f'{_FIX}')
    return boxes


def _read_json(path: str) -> dict:
    if osp.isdir(path):
        raise DatasetError(f'annotation file {path!r} is a directory; '
                           'point ann_file at the .json file in it')
    if not osp.isfile(path):
        raise DatasetError(f'annotation file {path!r} does not exist; check '
                           'data_root and ann_file in the dataset config')
    if osp.getsize(path) == 0:
        raise DatasetError(f'annotation file {path!r} is empty; {_FIX}')
    try:
        with open(path, 'rb') as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f'annotation file {path!r} is not valid JSON '
                           f'({exc}); {_FIX}') from exc
    if not isinstance(data, dict):
        raise DatasetError(f'annotation file {path!r} holds a JSON '
                           f'{type(data).__name__}, not an object with '
                           f'images, annotations and categories; {_FIX}')
    return data


# Files read by the data check before training (``keep=True``), held until
# the dataset reads them: a large file is parsed once per process.
_KEPT = {}


class CocoFile(NamedTuple):
    """A checked annotation file: its JSON ``data`` and its ``boxes`` as an
    ``(num_annotations, 4)`` float array (x, y, width, height)."""
    data: dict
    boxes: np.ndarray


def read_coco_file(path: str, keep: bool = False) -> CocoFile:
    """Read and check a COCO-format annotation file.

    Args:
        path (str): the file.
        keep (bool): hold the result for the next call with this (unchanged)
            file, which takes it instead of reading the file again.

    Raises:
        DatasetError: the file is missing, empty, not JSON, lacks the lists
            or keys that training needs, or has a box that is not 4 finite
            numbers; the message names the file.
    """
    key = None
    if osp.isfile(path):
        stat = os.stat(path)
        key = (osp.realpath(path), stat.st_size, stat.st_mtime_ns)
        if key in _KEPT:
            return _KEPT[key] if keep else _KEPT.pop(key)
    data = _read_json(path)
    result = CocoFile(data, _check_entries(path, data))
    if keep:
        _KEPT[key] = result
    return result


def drop_kept(path: str) -> None:
    """Forget what ``read_coco_file(path, keep=True)`` held."""
    for key in [k for k in _KEPT if k[0] == osp.realpath(path)]:
        del _KEPT[key]


def read_coco_json(path: str, keep: bool = False) -> dict:
    """The JSON of :func:`read_coco_file`."""
    return read_coco_file(path, keep).data


class CheckedCOCO(COCO):
    """MMDetection's COCO API, reading the file with ``read_coco_json``."""

    def __init__(self, annotation_file: Optional[str] = None) -> None:
        super().__init__()
        if annotation_file is not None:
            self.dataset = read_coco_json(annotation_file)
            self.createIndex()
            # MMDetection's aliases, rebound to the new index.
            self.img_ann_map = self.imgToAnns
            self.cat_img_map = self.catToImgs


def fit_box(bbox: list, width: float,
            height: float) -> Tuple[Optional[list], str]:
    """Fit an ``[x, y, w, h]`` box to a ``width`` x ``height`` image.

    Returns:
        tuple: ``(box, status)``: the box (None when skipped) and one of
        ``'inside'``, ``'clipped'``, ``'zero_area'`` (``w`` or ``h`` below
        1 px, MMDetection's limit) or ``'outside'`` (less than 1 px of it
        inside the image).
    """
    x, y, w, h = bbox
    if w < 1 or h < 1:
        return None, 'zero_area'
    x1, y1 = max(x, 0), max(y, 0)
    x2, y2 = min(x + w, width), min(y + h, height)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None, 'outside'
    if (x1, y1, x2, y2) == (x, y, x + w, y + h):
        return bbox, 'inside'
    return [x1, y1, x2 - x1, y2 - y1], 'clipped'


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """``CocoDataset`` with checked annotation files, boxes fitted to their
    images and a policy for images that do not decode.

    Image decode failures: in training (``test_mode=False``) the image is
    skipped with a warning naming the file and the count so far, and
    another image takes its place (MMEngine's refetch), so the epoch length
    and the batch size stay the same and DDP ranks stay in step; one bad
    file in a large dataset does not end a long run. When no image can be
    loaded (every image of the split failed, or ``max_refetch`` draws in a
    row did) a ``DatasetError`` names the files that failed. In testing and
    validation (``test_mode=True``) the ``ImageDecodeError`` naming the file
    stops the run: a metric over a silently smaller set would be wrong.
    Files that are missing are not decode failures and always stop the run.
    """

    COCOAPI = CheckedCOCO
    _skipped_images = 0  # decode failures skipped by this process

    def __init__(self, *args, **kwargs) -> None:
        self._undecodable = set()  # files that failed to decode (training)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        self._box_counts = dict(clipped=0, outside=0, zero_area=0)
        data_list = super().load_data_list()
        counts = self._box_counts
        if any(counts.values()):
            print_log(
                f'{self.ann_file}: clipped {counts["clipped"]} box(es) '
                f'partly outside their image; skipped {counts["outside"]} '
                f'box(es) outside their image and {counts["zero_area"]} '
                'with zero area (width or height < 1 px). Check the '
                'annotations (or their converter) if this is unexpected.',
                logger='current',
                level=logging.WARNING)
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        img = raw_data_info['raw_img_info']
        anns = []
        for ann in raw_data_info['raw_ann_info']:
            if ann.get('ignore', False):
                continue  # MMDetection skips these too
            bbox, status = fit_box(ann['bbox'], img['width'], img['height'])
            if status != 'inside':
                self._box_counts[status] += 1
            if bbox is not None:
                # MMDetection also drops boxes whose `area` is <= 0 or
                # missing; the (fitted) box is what is trained on.
                anns.append(dict(ann, bbox=bbox, area=bbox[2] * bbox[3]))
        return super().parse_data_info(dict(raw_data_info, raw_ann_info=anns))

    def __getitem__(self, idx: int) -> dict:
        """MMEngine's item, refetching another image in training when one
        fails to decode; when no image can be loaded (all of them fail, or
        ``max_refetch`` tries did), a ``DatasetError`` names the files that
        failed and their count instead of MMEngine's generic exception."""
        if self.test_mode or not self._fully_initialized:
            return super().__getitem__(idx)
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            if len(self._undecodable) >= len(self):
                break  # every image of the split failed: no more tries
            idx = self._rand_another()
        failed = sorted(self._undecodable)
        why = (f'{len(failed)} of its {len(self)} images failed to decode: '
               f'{listing(failed)}' if failed else
               'the pipeline gave no data (None) for every image it drew')
        raise DatasetError(
            f'training split {self.ann_file!r}: no image could be loaded '
            f'({why}); replace the files or remove them from the annotation '
            'file (or check the pipeline)')

    def prepare_data(self, idx: int) -> Optional[dict]:
        """The pipeline's output; None (another image is drawn) for an image
        that fails to decode in training."""
        try:
            return super().prepare_data(idx)
        except ImageDecodeError as exc:
            if self.test_mode:
                raise
            self._skipped_images += 1
            self._undecodable.add(exc.path or str(exc))
            print_log(
                f'{exc}: skipped in training, another image takes its place '
                f'({self._skipped_images} skipped so far in this process)',
                logger='current',
                level=logging.WARNING)
            return None
