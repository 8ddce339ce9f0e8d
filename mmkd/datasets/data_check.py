"""One fast pass over a COCO-format split before the runner starts.

``tools/train.py`` checks the training and validation splits and
``tools/test.py`` the test split (``--skip-data-check`` skips it). Every
problem that would train or evaluate on something other than what the file
says is an error (``DatasetError``, naming the file, the values and the
fix); what is only left out is a warning that counts it:

- errors: duplicate image, annotation or category ids (the COCO API keeps
  the last image of an id and gives it the boxes of all of them), boxes
  that are not 4 finite numbers, config classes that the file lacks or
  lists in another order (labels would be named wrongly), image files that
  are missing, image sizes that disagree with the image on disk (the
  headers of a sample of a training split, of every image of an
  evaluation split), an evaluator whose annotation file lacks the split's
  images, a training split without any usable box, an evaluation split
  without any box of the classes (its mAP would be -1), an unreadable
  image in an evaluation split, a training split whose sampled images are
  all unreadable;
- warnings, naming the ids and files with their counts: annotations of
  categories that are not among the classes, of category ids the file does
  not define, and of image ids the file does not list (none of them is
  used), classes without any box in an evaluation split (left out of its
  mAP), unreadable images of a training split (skipped).

The parsed file is handed on to the dataset, so the check adds its numpy
passes to the parse the dataset needs anyway (see ``docs/bad_input.md`` for
the time it takes on COCO train2017's size).
"""
import logging
import os.path as osp
import time
from collections import Counter
from operator import itemgetter, methodcaller
from typing import Iterator, List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from mmkd.utils.errors import DatasetError
from .coco import CocoFile, drop_kept, read_coco_file, read_coco_json
from .image_sizes import check_image_files, image_sizes, listing

_WRAPPERS = ('dataset', 'datasets')


def _coco_datasets(cfg: dict, key: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, dataset config)`` of every COCO-format dataset in
    ``cfg``, looking inside dataset wrappers (Repeat, Concat, ...)."""
    from mmdet.datasets import CocoDataset

    from mmkd.registry import DATASETS
    if not isinstance(cfg, dict):
        return
    for name in _WRAPPERS:
        inner = cfg.get(name)
        if isinstance(inner, dict):
            yield from _coco_datasets(inner, f'{key}.{name}')
        elif isinstance(inner, (list, tuple)):
            for i, item in enumerate(inner):
                yield from _coco_datasets(item, f'{key}.{name}[{i}]')
    cls = DATASETS.get(cfg.get('type', ''))
    if isinstance(cls, type) and issubclass(cls, CocoDataset):
        yield key, cfg


def _path(root, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def _classes(key: str, cfg: dict) -> List[str]:
    from mmkd.registry import DATASETS
    metainfo = cfg.get('metainfo') or {}
    classes = metainfo.get('classes',
                           DATASETS.get(cfg['type']).METAINFO['classes'])
    if isinstance(classes, str) or not classes or not all(
            isinstance(c, str) for c in classes):
        raise DatasetError(f'{key}.metainfo.classes={classes!r}: give a '
                           "tuple of class names, e.g. ('cat', 'dog')")
    return list(classes)


def _column(entries: list, key: str) -> np.ndarray:
    return np.array(list(map(itemgetter(key), entries)))


def _check_ids(path: str, data: dict) -> None:
    for key, what in (('images', 'image'), ('annotations', 'annotation'),
                      ('categories', 'category')):
        ids = list(map(itemgetter('id'), data[key]))
        if len(set(ids)) == len(ids):
            continue
        repeated = [v for v, n in Counter(ids).items() if n > 1]
        raise DatasetError(
            f'annotation file {path!r}: {len(repeated)} {what} id(s) are '
            f'used more than once ({repeated[:5]}); the COCO API keeps one '
            f'{what} per id and mixes up the rest: give every {what} its '
            'own id (fix the converter that wrote the file)')


def _category_labels(path: str, data: dict, classes: list) -> dict:
    """``{category id: label}`` of the file's categories that are classes;
    refuses classes the file lacks or orders differently."""
    names = [cat['name'] for cat in data['categories']]
    lacking = [c for c in classes if c not in names]
    if lacking:
        raise DatasetError(
            f'annotation file {path!r} has no categories {lacking} of the '
            f"config's {len(classes)} classes (it has {len(names)}: "
            f"{names[:8]}{' ...' if len(names) > 8 else ''}); fix "
            'metainfo.classes or use the annotation file of this dataset')
    order = [n for n in names if n in classes]
    if order != classes:
        raise DatasetError(
            f'annotation file {path!r} lists the classes in the order '
            f'{order}, metainfo.classes in the order {classes}; MMDetection '
            "labels them in the file's order, so they would be named "
            "wrongly: write metainfo.classes in the file's order")
    return {
        cat['id']: classes.index(cat['name'])
        for cat in data['categories'] if cat['name'] in classes
    }


def _unused(path: str, data: dict, known: np.ndarray,
            in_classes: np.ndarray) -> List[str]:
    """Warnings naming the annotations that are not used: of categories
    that are not classes, of category ids the file does not define (with
    their annotation ids and image files) and of image ids the file does
    not list (with their annotation ids)."""
    anns, notes = data['annotations'], []
    names = {cat['id']: cat['name'] for cat in data['categories']}
    files = {img['id']: img['file_name'] for img in data['images']}
    rows = np.flatnonzero(known & ~in_classes)
    other = Counter(names[anns[i]['category_id']] for i in rows
                    if anns[i]['category_id'] in names)
    if other:
        top = ', '.join(f'{name!r} ({n})' for name, n in other.most_common(5))
        notes.append(
            f'{path}: {sum(other.values())} annotation(s) of {len(other)} '
            "category(ies) not among the config's classes are not used: "
            f'{top}{" ..." if len(other) > 5 else ""}')
    undefined = [i for i in rows if anns[i]['category_id'] not in names]
    if undefined:
        ids = Counter(anns[i]['category_id'] for i in undefined)
        per_id = ', '.join(f'{k!r} ({n})' for k, n in ids.most_common(5))
        images = dict.fromkeys(files[anns[i]['image_id']] for i in undefined)
        notes.append(
            f'{path}: {len(undefined)} annotation(s) have category ids that '
            "the file's categories do not define and are not used: "
            f'category id {per_id}{" ..." if len(ids) > 5 else ""}; '
            f'annotation ids {listing(anns[i]["id"] for i in undefined)}, '
            f'images {listing(images)}; fix their category_id or add the '
            'categories')
    lost = np.flatnonzero(~known)
    if len(lost):
        orphans = Counter(anns[i]['image_id'] for i in lost)
        notes.append(
            f'{path}: {len(lost)} annotation(s) refer to {len(orphans)} '
            'image id(s) that the file does not list and are not used: '
            f'image ids {listing(sorted(orphans, key=str))}, annotation ids '
            f'{listing(anns[i]["id"] for i in lost)}')
    return notes


def _evaluated_boxes(path: str, data: dict, used: np.ndarray, labels: dict,
                     classes: list) -> List[str]:
    """An evaluation split needs ground truth of the classes: without any
    the COCO metric reports mAP -1 (an error); a class without any is left
    out of the mean (a warning naming it)."""
    anns = data['annotations']
    counts = Counter(labels[anns[i]['category_id']]
                     for i in np.flatnonzero(used))
    if not counts:
        raise DatasetError(
            f'annotation file {path!r}: none of its {len(anns)} '
            f'annotation(s) is a box of the classes {classes} on an image '
            'it lists, so the evaluation would report mAP -1; check '
            "metainfo.classes, the annotations' category_id and image_id, "
            'or ann_file')
    empty = [c for label, c in enumerate(classes) if not counts[label]]
    if not empty:
        return []
    return [
        f'{path}: {len(empty)} of the {len(classes)} classes have no box '
        f'in this evaluation split: {listing(empty)}; their AP is undefined '
        f'and the mAP averages the other {len(classes) - len(empty)}'
    ]


def _image_rows(img_ids: np.ndarray, ann_img: np.ndarray) -> np.ndarray:
    """The row in ``images`` of each annotation's image, -1 where the file
    lists no such image."""
    n = len(img_ids)
    if img_ids.dtype.kind in 'iu' and ann_img.dtype.kind in 'iu' and \
            img_ids.min() >= 0 and img_ids.max() < 64 * n + 2**20:
        # A lookup table (COCO: ids below 600k).
        table = np.full(int(img_ids.max()) + 2, -1)
        table[img_ids] = np.arange(n)
        return table[np.clip(ann_img, -1, len(table) - 1)]
    order = np.argsort(img_ids, kind='stable')
    pos = np.minimum(np.searchsorted(img_ids, ann_img, sorter=order), n - 1)
    rows = order[pos]
    return np.where(img_ids[rows] == ann_img, rows, -1)


def _usable_images(coco: CocoFile, rows: np.ndarray, used: np.ndarray,
                   sizes: np.ndarray, min_size: float) -> int:
    """How many images keep a box after the dataset's filters: a class's
    box of at least 1 x 1 px inside its image, the image at least
    ``min_size`` px a side."""
    anns = coco.data['annotations']
    keep = used & ~np.fromiter(
        map(methodcaller('get', 'ignore', False), anns), bool, len(anns))
    box, wh = coco.boxes[keep], sizes[rows[keep]]
    x1, y1 = np.maximum(box[:, :2], 0).T
    x2, y2 = np.minimum(box[:, :2] + box[:, 2:], wh).T
    fits = (box[:, 2:] >= 1).all(1) & (x2 - x1 >= 1) & (y2 - y1 >= 1)
    fits &= wh.min(1) >= min_size
    usable = np.zeros(len(sizes), dtype=bool)
    usable[rows[keep][fits]] = True
    return int(usable.sum())


def _ground_truth(data: dict, img_ids: set) -> dict:
    """``{image id: (file name, sorted (category, box) pairs)}``."""
    truth = {
        img['id']: (img['file_name'], [])
        for img in data['images'] if img['id'] in img_ids
    }
    for ann in data['annotations']:
        if ann['image_id'] in truth:
            truth[ann['image_id']][1].append(
                (ann['category_id'], tuple(ann['bbox'])))
    return {k: (name, sorted(boxes)) for k, (name, boxes) in truth.items()}


def _check_evaluator(path: str, ann_path: str, data: dict, key: str) -> None:
    """The evaluator's annotation file must hold the split's images and
    boxes (the metric scores the predictions against it)."""
    if osp.realpath(ann_path) == osp.realpath(path):
        return
    img_ids = {img['id'] for img in data['images']}
    ours = _ground_truth(data, img_ids)
    theirs = _ground_truth(read_coco_json(path), img_ids)
    wrong = [i for i in ours if theirs.get(i) != ours[i]]
    if wrong:
        raise DatasetError(
            f'{key}.ann_file={path!r} does not describe the images of '
            f'{ann_path!r}: {len(wrong)} of its {len(ours)} images are '
            f'missing or have other files or boxes there (e.g. image id '
            f'{wrong[0]}), so the metric would score the predictions '
            "against other annotations: point the evaluator's ann_file at "
            "the dataset's file")


def _check_split(key: str, cfg: dict, coco: CocoFile, ann_path: str,
                 classes: list) -> List[str]:
    data = coco.data
    _check_ids(ann_path, data)
    labels = _category_labels(ann_path, data, classes)
    sizes = image_sizes(ann_path, data['images'])
    rows = _image_rows(
        _column(data['images'], 'id'), _column(data['annotations'],
                                               'image_id'))
    known = rows >= 0
    in_classes = np.isin(
        _column(data['annotations'], 'category_id'), list(labels))
    notes = _unused(ann_path, data, known, in_classes)
    test_mode = cfg.get('test_mode', False)
    if test_mode:
        notes += _evaluated_boxes(ann_path, data, known & in_classes, labels,
                                  classes)
    backend = (cfg.get('backend_args') or {}).get('backend', 'local')
    root = cfg.get('data_root') or ''
    if backend == 'local' and '://' not in root:
        img_dir = _path(root, (cfg.get('data_prefix') or {}).get('img', ''))
        notes += check_image_files(
            ann_path, img_dir, data['images'], every=test_mode)
    if not test_mode:
        min_size = (cfg.get('filter_cfg') or {}).get('min_size', 0)
        if not _usable_images(coco, rows, known & in_classes, sizes, min_size):
            raise DatasetError(
                f'annotation file {ann_path!r}: no image has a usable box of '
                f'the classes {classes} (inside its image, at least 1 x 1 '
                'px, the image large enough for filter_cfg.min_size); check '
                'metainfo.classes, the boxes and the image sizes')
    return notes


def check_dataset(key: str, cfg: dict, evaluator=None) -> List[str]:
    """Check one COCO-format dataset config (see the module docstring).

    Args:
        key (str): its config key, e.g. ``'train_dataloader.dataset'``.
        cfg (dict): the dataset config.
        evaluator (dict | list, optional): the split's evaluator config.

    Returns:
        list[str]: warnings (also logged).

    Raises:
        DatasetError: the first problem found, naming the file and the fix.
    """
    start = time.perf_counter()
    ann_path = _path(cfg.get('data_root') or '', cfg.get('ann_file', ''))
    coco = read_coco_file(ann_path, keep=True)
    try:
        classes = _classes(key, cfg)
        notes = _check_split(key, cfg, coco, ann_path, classes)
        for metric in evaluator if isinstance(evaluator,
                                              (list, tuple)) else [evaluator]:
            if isinstance(metric, dict) and metric.get('ann_file'):
                _check_evaluator(metric['ann_file'], ann_path, coco.data,
                                 key.split('_')[0] + '_evaluator')
    except BaseException:
        drop_kept(ann_path)  # no dataset will take it
        raise
    for note in notes:
        print_log(note, logger='current', level=logging.WARNING)
    print_log(
        f'data check: {ann_path}: {len(coco.data["images"])} images, '
        f'{len(coco.boxes)} boxes, {len(classes)} classes '
        f'({time.perf_counter() - start:.1f} s)',
        logger='current')
    return notes


def _split_datasets(cfg, split: str) -> Iterator[Tuple[str, dict]]:
    loader = cfg.get(f'{split}_dataloader')
    if isinstance(loader, dict):
        yield from _coco_datasets(
            loader.get('dataset'), f'{split}_dataloader.dataset')


def dataset_classes(cfg, split: str) -> Optional[List[str]]:
    """The classes of the first COCO-format dataset of ``split`` (None if
    it has none)."""
    for key, dataset in _split_datasets(cfg, split):
        return _classes(key, dataset)
    return None


def check_datasets(cfg, splits=('train', 'val')) -> List[str]:
    """Check the datasets of ``splits`` (``'train'``, ``'val'``, ``'test'``)
    that a config defines; returns the warnings."""
    notes = []
    for split in splits:
        for key, dataset in _split_datasets(cfg, split):
            notes += check_dataset(key, dataset, cfg.get(f'{split}_evaluator'))
    return notes
