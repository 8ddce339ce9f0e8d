"""CheckedCocoDataset: checked annotation files, boxes fitted to their
images, image decode failures (skipped in training, fatal in testing)."""
import json

import cv2
import numpy as np
import pytest
from mmengine.registry import DATASETS, init_default_scope

import mmkd  # noqa: F401  (registers CheckedCocoDataset)
from mmkd.datasets import CheckedCocoDataset, CheckedLoadImageFromFile, fit_box
from mmkd.utils.errors import DatasetError, ImageDecodeError

PIPELINE = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs')
]
CATEGORIES = [dict(id=1, name='disc'), dict(id=2, name='ring')]
GOOD_IMAGES = [
    dict(id=1, file_name='a.png', width=64, height=48),
    dict(id=2, file_name='b.png', width=64, height=48)
]


def _ann(i, image_id, bbox):
    return dict(
        id=i, image_id=image_id, category_id=1, bbox=bbox, area=100, iscrowd=0)


GOOD_ANNS = [_ann(1, 1, [4, 4, 20, 20]), _ann(2, 2, [8, 8, 30, 30])]


def _write(root, content=None, images=None):
    """Two 64 x 48 PNG images and ``ann.json`` (``content``, or a valid
    file with ``images``); returns the dataset config."""
    for name in ('a.png', 'b.png'):
        cv2.imwrite(str(root / name), np.full((48, 64, 3), 90, np.uint8))
    if content is None:
        content = json.dumps(
            dict(
                images=images or GOOD_IMAGES,
                annotations=GOOD_ANNS,
                categories=CATEGORIES))
    (root / 'ann.json').write_text(content)
    return dict(
        type='CheckedCocoDataset',
        data_root=str(root),
        ann_file='ann.json',
        data_prefix=dict(img=''),
        metainfo=dict(classes=('disc', )),
        filter_cfg=None,
        pipeline=PIPELINE)


def _build(cfg, **kwargs):
    init_default_scope('mmkd')  # as the Runner does
    return DATASETS.build(dict(cfg, **kwargs))


def test_configs_type_resolves_to_mmkd(tmp_path):
    # default_scope='mmkd' + type='CheckedCocoDataset' (mmkd's dataset
    # configs) and type='CheckedLoadImageFromFile' (their pipelines) reach
    # mmkd's classes; MMDetection's and MMCV's names keep their classes.
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets import CocoDataset
    dataset = _build(_write(tmp_path))
    assert type(dataset) is CheckedCocoDataset
    assert type(dataset.pipeline.transforms[0]) is CheckedLoadImageFromFile
    assert len(dataset) == 2 and dataset[0]['inputs'].shape == (3, 48, 64)
    plain = _build(
        _write(tmp_path),
        type='CocoDataset',
        pipeline=[dict(type='LoadImageFromFile')] + PIPELINE[1:])
    assert type(plain) is CocoDataset
    assert type(plain.pipeline.transforms[0]) is LoadImageFromFile


BAD_FILES = {
    'empty': ('', 'is empty'),
    'not json': ('{"images": [', 'is not valid JSON'),
    'a list': ('[]', 'holds a JSON list'),
    'no annotations':
    (json.dumps(dict(images=GOOD_IMAGES,
                     categories=CATEGORIES)), "has no 'annotations' list"),
    'annotation without bbox': (json.dumps(
        dict(
            images=GOOD_IMAGES,
            categories=CATEGORIES,
            annotations=[dict(id=1, image_id=1, category_id=1)])),
                                r"annotations\[0\] has no \['bbox'\]"),
    'bad bbox':
    (json.dumps(
        dict(
            images=GOOD_IMAGES,
            categories=CATEGORIES,
            annotations=[_ann(1, 1, [1, 2, 3])])),
     r'annotations\[0\]\.bbox=\[1, 2, 3\] is not \[x, y, width, height\]'),
    'no images':
    (json.dumps(dict(images=[], annotations=[],
                     categories=CATEGORIES)), 'lists no images'),
}


@pytest.mark.parametrize('case', sorted(BAD_FILES))
def test_bad_annotation_file_is_named(tmp_path, case):
    content, problem = BAD_FILES[case]
    with pytest.raises(DatasetError, match=problem) as info:
        _build(_write(tmp_path, content))
    message = str(info.value)
    assert str(tmp_path / 'ann.json') in message
    assert 'regenerate it' in message  # what to do


def test_missing_annotation_file_is_named(tmp_path):
    cfg = _write(tmp_path)
    with pytest.raises(DatasetError, match=r'nope\.json.*does not exist'):
        _build(cfg, ann_file='nope.json')


@pytest.mark.parametrize(
    'bbox, fitted, status',
    [
        ([4, 4, 20, 20], [4, 4, 20, 20], 'inside'),
        ([-10, 40, 30, 20], [0, 40, 20, 8], 'clipped'),  # 64 x 48 image
        ([50, -5, 30, 10], [50, 0, 14, 5], 'clipped'),
        ([70, 10, 10, 10], None, 'outside'),
        ([63.5, 10, 10, 10], None, 'outside'),  # 0.5 px inside
        ([10, 10, 0, 10], None, 'zero_area'),
        ([10, 10, 12, 0.5], None, 'zero_area'),
    ])
def test_fit_box(bbox, fitted, status):
    assert fit_box(bbox, 64, 48) == (fitted, status)


def test_boxes_are_clipped_and_skipped_with_one_warning(
        tmp_path, warnings_log):
    anns = [
        _ann(1, 1, [4, 4, 20, 20]),
        _ann(2, 1, [-10, 40, 30, 20]),
        _ann(3, 1, [70, 10, 10, 10]),
        _ann(4, 2, [10, 10, 0, 10]),
        _ann(5, 2, [50, -5, 30, 10])
    ]
    cfg = _write(
        tmp_path,
        json.dumps(
            dict(images=GOOD_IMAGES, annotations=anns, categories=CATEGORIES)))
    dataset = _build(cfg)
    boxes = [[inst['bbox'] for inst in dataset.get_data_info(i)['instances']]
             for i in range(2)]
    # x1, y1, x2, y2: the clipped boxes end at the image border.
    assert boxes == [[[4, 4, 24, 24], [0, 40, 20, 48]], [[50, 0, 64, 5]]]
    [message] = [m for m in warnings_log if 'ann.json' in m]
    assert 'clipped 2 box(es)' in message
    assert 'skipped 1 box(es) outside their image and 1 with zero area' in \
        message


def _corrupt(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)


@pytest.mark.parametrize(
    'content', [b'', b'\x89PNG\r\n\x1a\nnot really',
                bytes(range(256)) * 8])
def test_undecodable_image_names_the_file(tmp_path, content):
    _corrupt(tmp_path, 'bad.png', content)
    with pytest.raises(ImageDecodeError, match=r"bad\.png") as info:
        CheckedLoadImageFromFile()(dict(img_path=str(tmp_path / 'bad.png')))
    assert info.value.path == str(tmp_path / 'bad.png')


def test_truncated_png_names_the_file(tmp_path):
    cv2.imwrite(
        str(tmp_path / 'full.png'),
        np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    data = (tmp_path / 'full.png').read_bytes()
    _corrupt(tmp_path, 'cut.png', data[:len(data) // 2])
    with pytest.raises(ImageDecodeError, match=r"cut\.png"):
        CheckedLoadImageFromFile()(dict(img_path=str(tmp_path / 'cut.png')))


def test_undecodable_image_is_skipped_in_training(tmp_path, warnings_log):
    cfg = _write(tmp_path)
    _corrupt(tmp_path, 'a.png', b'garbage')
    dataset = _build(cfg)
    item = dataset[0]  # a.png cannot be read: b.png takes its place
    assert item['data_samples'].img_path == str(tmp_path / 'b.png')
    # (the random refetch may draw a.png again before b.png)
    messages = [m for m in warnings_log if 'a.png' in m]
    assert 'skipped in training' in messages[0]
    assert '1 skipped so far' in messages[0]


def test_undecodable_image_stops_testing(tmp_path):
    cfg = _write(tmp_path)
    _corrupt(tmp_path, 'a.png', b'garbage')
    dataset = _build(cfg, test_mode=True)
    with pytest.raises(ImageDecodeError, match=r"a\.png.*replace the file"):
        dataset[0]


def test_no_decodable_training_image_names_the_files(tmp_path, warnings_log):
    """Every image fails to decode: a DatasetError naming them, as soon as
    each has failed once (not after MMEngine's 1000 refetches and its
    generic exception)."""
    cfg = _write(tmp_path)
    for name in ('a.png', 'b.png'):
        data = (tmp_path / name).read_bytes()
        _corrupt(tmp_path, name, data[:len(data) // 2])  # header intact
    dataset = _build(cfg)
    with pytest.raises(DatasetError) as info:
        dataset[0]
    assert str(info.value) == (
        f"training split '{tmp_path}/ann.json': no image could be loaded (2 "
        f"of its 2 images failed to decode: ['{tmp_path}/a.png', "
        f"'{tmp_path}/b.png']); replace the files or remove them from the "
        'annotation file (or check the pipeline)')
    skips = [m for m in warnings_log if 'skipped in training' in m]
    assert 2 <= len(skips) < 50


def test_a_pipeline_that_gives_nothing_is_named(tmp_path):
    cfg = _write(tmp_path)
    dataset = _build(cfg, max_refetch=3)
    dataset.pipeline = lambda results: None
    with pytest.raises(
            DatasetError,
            match='no image could be loaded '
            r'\(the pipeline gave no data \(None\)'):
        dataset[0]
