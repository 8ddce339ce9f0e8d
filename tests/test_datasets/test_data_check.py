"""The data check before training (mmkd/datasets/data_check.py): counted
warnings, one parse per file, image headers read as OpenCV loads them.
Errors as the tools report them are in tests/test_tools/test_bad_data.py.
"""
import json

import cv2
import mmcv
import numpy as np
import pytest
from mmengine.registry import DATASETS, init_default_scope
from PIL import Image

import mmkd  # noqa: F401
from mmkd.datasets import coco
from mmkd.datasets.data_check import check_dataset, check_datasets
from mmkd.datasets.image_sizes import header_size
from mmkd.utils.errors import DatasetError

CLASSES = ('disc', 'ring')


def _dataset(root, anns, classes=CLASSES, **kwargs):
    """Two 64 x 48 images, ``anns`` and the dataset config of them."""
    images = [
        dict(id=i, file_name=f'{i}.png', width=64, height=48) for i in (1, 2)
    ]
    for img in images:
        cv2.imwrite(str(root / img['file_name']), np.zeros((48, 64, 3)))
    categories = [
        dict(id=1, name='disc'),
        dict(id=2, name='ring'),
        dict(id=3, name='plate')
    ]
    (root / 'ann.json').write_text(
        json.dumps(
            dict(images=images, annotations=anns, categories=categories)))
    return dict(
        type='CheckedCocoDataset',
        data_root=str(root),
        ann_file='ann.json',
        data_prefix=dict(img=''),
        metainfo=dict(classes=classes),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=[],
        **kwargs)


def _ann(i, image_id, category_id, bbox=(4, 4, 20, 20)):
    return dict(
        id=i,
        image_id=image_id,
        category_id=category_id,
        bbox=list(bbox),
        area=400,
        iscrowd=0)


def _held(root) -> bool:
    """Whether a parse of ``root/ann.json`` waits for its dataset."""
    return any(key[0] == str(root / 'ann.json') for key in coco._KEPT)


def test_left_out_annotations_are_counted(tmp_path, warnings_log):
    anns = [
        _ann(1, 1, 1),
        _ann(2, 1, 3),  # 'plate' is not a class
        _ann(3, 2, 3),
        _ann(4, 2, 9),  # no such category
        _ann(5, 7, 1),  # no such image
    ]
    notes = check_dataset('train_dataloader.dataset', _dataset(tmp_path, anns))
    assert notes == [
        f'{tmp_path}/ann.json: 2 annotation(s) of 1 category(ies) not among '
        "the config's classes are not used: 'plate' (2)",
        f'{tmp_path}/ann.json: 1 annotation(s) have category ids that the '
        "file's categories do not define and are not used: category id 9 "
        "(1); annotation ids [4], images ['2.png']; fix their category_id "
        'or add the categories',
        f'{tmp_path}/ann.json: 1 annotation(s) refer to 1 image id(s) that '
        'the file does not list and are not used: image ids [7], annotation '
        'ids [5]'
    ]
    assert [m for m in warnings_log if 'not used' in m] == notes


def test_many_left_out_annotations_are_named_with_counts(tmp_path):
    """The first ids and files of each kind, and how many there are."""
    anns = [_ann(1, 1, 1)
            ] + [_ann(i, 1 + i % 2, 9 + i % 3) for i in range(2, 9)]
    anns += [_ann(i, 100 + i, 1) for i in range(9, 16)]
    notes = check_dataset('train_dataloader.dataset', _dataset(tmp_path, anns))
    assert notes == [
        f'{tmp_path}/ann.json: 7 annotation(s) have category ids that the '
        "file's categories do not define and are not used: category id 11 "
        '(3), 9 (2), 10 (2); annotation ids [2, 3, 4, 5, 6, ... (7 in '
        "all)], images ['1.png', '2.png']; fix their category_id or add the "
        'categories',
        f'{tmp_path}/ann.json: 7 annotation(s) refer to 7 image id(s) that '
        'the file does not list and are not used: image ids [109, 110, 111, '
        '112, 113, ... (7 in all)], annotation ids [9, 10, 11, 12, 13, ... '
        '(7 in all)]'
    ]


def test_no_usable_box_counts_the_filters(tmp_path):
    # Outside the image, below 1 px, or of another class: no image is left.
    anns = [
        _ann(1, 1, 1, (70, 10, 10, 10)),
        _ann(2, 2, 2, (10, 10, 0.5, 10)),
        _ann(3, 2, 3)
    ]
    cfg = _dataset(tmp_path, anns)
    with pytest.raises(DatasetError, match='no image has a usable box'):
        check_dataset('train_dataloader.dataset', cfg)
    # One box partly inside is usable (it is clipped), and testing keeps
    # images without boxes anyway.
    anns[0]['bbox'] = [60, 10, 10, 10]
    check_dataset('train_dataloader.dataset', _dataset(tmp_path, anns))
    anns[0]['bbox'] = [70, 10, 10, 10]
    check_dataset('x', _dataset(tmp_path, anns, test_mode=True))


def test_the_dataset_takes_the_checked_parse(tmp_path, monkeypatch):
    cfg = _dataset(tmp_path, [_ann(1, 1, 1), _ann(2, 2, 2)])
    loads = []
    real_load = coco.json.load
    monkeypatch.setattr(coco.json, 'load',
                        lambda f: loads.append(f.name) or real_load(f))
    check_datasets(dict(train_dataloader=dict(dataset=cfg)), ('train', ))
    init_default_scope('mmkd')
    dataset = DATASETS.build(cfg)
    assert len(dataset) == 2
    assert loads == [str(tmp_path / 'ann.json')]  # parsed once
    assert not _held(tmp_path)  # and not held any longer


def test_a_refused_file_is_not_held(tmp_path):
    cfg = _dataset(tmp_path, [_ann(1, 1, 1), _ann(1, 2, 2)])
    with pytest.raises(DatasetError, match='annotation id'):
        check_dataset('train_dataloader.dataset', cfg)
    assert not _held(tmp_path)


def test_wrapped_datasets_are_checked(tmp_path):
    inner = _dataset(tmp_path, [_ann(1, 1, 1)], classes=('ring', 'disc'))
    cfg = dict(
        train_dataloader=dict(
            dataset=dict(type='RepeatDataset', times=2, dataset=inner)))
    with pytest.raises(DatasetError, match='in the order'):
        check_datasets(cfg, ('train', ))


def test_image_size_as_opencv_loads_it(tmp_path):
    # A phone photo: 64 x 48 pixels stored, EXIF orientation 6 (rotate 90
    # degrees): OpenCV, and so training, sees 48 x 64.
    exif = Image.Exif()
    exif[0x0112] = 6
    path = str(tmp_path / 'turned.jpg')
    Image.new('RGB', (64, 48)).save(path, exif=exif)
    loaded = mmcv.imread(path)
    assert loaded.shape[:2] == (64, 48)  # height, width
    assert header_size(path) == (48, 64)  # width, height
    assert header_size(str(tmp_path / 'nope.png')) is None


def test_an_evaluation_split_names_classes_without_boxes(tmp_path):
    """A class without ground truth is left out of the COCO mAP (its AP
    is -1): named. In training that is not a problem of the split."""
    cfg = _dataset(tmp_path, [_ann(1, 1, 1), _ann(2, 2, 3)], test_mode=True)
    assert check_dataset('val_dataloader.dataset', cfg) == [
        f'{tmp_path}/ann.json: 1 annotation(s) of 1 category(ies) not among '
        "the config's classes are not used: 'plate' (1)",
        f'{tmp_path}/ann.json: 1 of the 2 classes have no box in this '
        "evaluation split: ['ring']; their AP is undefined and the mAP "
        'averages the other 1'
    ]
    cfg = _dataset(tmp_path, [_ann(1, 1, 1)], test_mode=False)
    assert check_dataset('train_dataloader.dataset', cfg) == []


def test_unreadable_training_images_are_named(tmp_path):
    cfg = _dataset(tmp_path, [_ann(1, 1, 1), _ann(2, 2, 2)])
    (tmp_path / '2.png').write_bytes(b'not an image')
    assert check_dataset('train_dataloader.dataset', cfg) == [
        f'{tmp_path}/ann.json: 1 of 2 sampled images cannot be read as '
        f"images: ['{tmp_path}/2.png']; training skips them and any other "
        'image that does not decode (each skip is logged): replace the '
        'files or remove them from the annotation file'
    ]
    cfg = _dataset(tmp_path, [_ann(1, 1, 1)], test_mode=True)
    (tmp_path / '2.png').write_bytes(b'not an image')
    with pytest.raises(
            DatasetError,
            match='1 of the 2 images of .* cannot '
            r"be read as images: \['.*2.png'\]; the evaluation"):
        check_dataset('test_dataloader.dataset', cfg)


def test_every_image_of_an_evaluation_split_is_read(tmp_path):
    """Training reads the headers of a sample (every 2nd of 70 images);
    an evaluation split reads them all, and finds the one it skipped."""
    images = [
        dict(id=i, file_name=f'{i}.png', width=8, height=8) for i in range(70)
    ]
    for img in images:
        cv2.imwrite(str(tmp_path / img['file_name']), np.zeros((8, 8, 3)))
    (tmp_path / '1.png').write_bytes(b'not an image')
    (tmp_path / 'ann.json').write_text(
        json.dumps(
            dict(
                images=images,
                annotations=[_ann(1, 0, 1, (1, 1, 4, 4))],
                categories=[dict(id=1, name='disc')])))
    cfg = dict(
        type='CocoDataset',
        data_root=str(tmp_path),
        ann_file='ann.json',
        data_prefix=dict(img=''),
        metainfo=dict(classes=('disc', )),
        pipeline=[])
    assert check_dataset('train_dataloader.dataset', cfg) == []
    with pytest.raises(DatasetError, match=r"1 of the 70 images .* \['.*/1"):
        check_dataset('test_dataloader.dataset', dict(cfg, test_mode=True))
