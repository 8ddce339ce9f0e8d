"""KITTI and ILSVRC DET annotation converters (tiny files written here)."""
import json
import logging

import numpy as np
import pytest
from PIL import Image

from mmkd.datasets.converters import (ILSVRC_DET_CLASSES, KITTI_CLASSES,
                                      check_class_names, convert_split,
                                      ilsvrc_det_to_coco, list_xml_files,
                                      load_meta, split_ids)
from mmkd.datasets.converters.kitti import parse_label_line

# type trunc occ alpha x1 y1 x2 y2 h w l x y z ry  (15 fields)
_TAIL = '1.5 1.6 3.9 1.0 1.7 8.4 0.01'
KITTI_LINES = [
    f'Car 0.00 0 -1.58 10.00 5.00 50.00 30.00 {_TAIL}',  # kept
    f'Pedestrian 0.20 1 0.2 60.0 10.0 70.0 45.0 {_TAIL}',  # kept
    f'Van 0.00 0 0.1 1.0 1.0 20.0 20.0 {_TAIL}',  # dropped/Van
    'DontCare -1 -1 -10 5.0 5.0 9.0 9.0 -1 -1 -1 -1000 -1000 -1000 -10',
    f'Car 0.00 0 -1.58 10.00 5.00 50.00 {_TAIL}',  # 14 fields: malformed
    f'Car 0.00 0 -1.58 10.00 abc 50.00 30.00 {_TAIL}',  # non-numeric
    f'Car 0.00 0 -1.58 50.00 5.00 10.00 30.00 {_TAIL}',  # x2 <= x1
    f'Car 0.00 0 nan 10.00 5.00 50.00 30.00 {_TAIL}',  # non-finite
    f'Truck2 0.00 0 0.0 10.00 5.00 50.00 30.00 {_TAIL}',  # unknown type
    f'Cyclist 0.50 2 0.0 90.00 40.00 120.00 60.00 {_TAIL}',  # clipped
    f'Car 0.00 0 0.0 110.00 5.00 130.00 30.00 {_TAIL}',  # zero area
    '',  # blank lines are not malformed
]


def _write_kitti(root):
    labels, images = root / 'label_2', root / 'image_2'
    labels.mkdir()
    images.mkdir()
    (labels / '000000.txt').write_text('\n'.join(KITTI_LINES))
    (labels /
     '000001.txt').write_text(f'Car 0.00 0 0.0 0.0 0.0 10.0 10.0 {_TAIL}\n')
    (labels / '000002.txt').write_text('')  # its image is missing
    for frame in ('000000', '000001'):
        Image.new('RGB', (100, 50)).save(images / f'{frame}.png')
    return str(labels), str(images)


def test_parse_label_line():
    obj = parse_label_line(KITTI_LINES[0])
    assert obj == dict(
        type='Car', truncated=0.0, occluded=0, bbox=(10.0, 5.0, 50.0, 30.0))
    with pytest.raises(ValueError, match='expected 15 fields'):
        parse_label_line(KITTI_LINES[4])
    with pytest.raises(ValueError, match='x2 > x1'):
        parse_label_line(KITTI_LINES[6])


def test_kitti_convert_counts_and_boxes(tmp_path, caplog):
    label_dir, image_dir = _write_kitti(tmp_path)
    from mmkd.datasets.converters.common import ConversionStats
    stats = ConversionStats()
    with caplog.at_level(logging.WARNING, logger='mmkd.converters'):
        coco = convert_split(['000000', '000001', '000002'],
                             label_dir,
                             image_dir,
                             stats=stats)
    assert dict(stats) == {
        'images': 2,
        'annotations': 4,
        'dropped/Van': 1,
        'dropped/DontCare': 1,
        'malformed_lines': 5,
        'clipped': 2,
        'zero_area': 1,
        'missing_images': 1
    }
    # file:line of every malformed line is logged (lines 5-9).
    for lineno in range(5, 10):
        assert f'000000.txt:{lineno}:' in caplog.text
    assert 'image_2/000002.png is missing' in caplog.text
    assert [c['name'] for c in coco['categories']] == list(KITTI_CLASSES)
    assert coco['images'][0] == dict(
        id=1, file_name='000000.png', width=100, height=50)
    boxes = [(a['image_id'], a['category_id'], a['bbox'])
             for a in coco['annotations']]
    assert boxes == [
        (1, 1, [10.0, 5.0, 40.0, 25.0]),
        (1, 2, [60.0, 10.0, 10.0, 35.0]),
        # Cyclist (90, 40, 120, 60) clipped to the 100 x 50 image.
        (1, 3, [90.0, 40.0, 10.0, 10.0]),
        (2, 1, [0.0, 0.0, 10.0, 10.0]),
    ]
    assert coco['annotations'][1]['occluded'] == 1


def test_split_ids_is_deterministic():
    ids = [f'{i:06d}' for i in range(20)]
    split = split_ids(ids, val_ratio=0.25, seed=3)
    assert len(split['val']) == 5 and len(split['train']) == 15
    assert sorted(split['train'] + split['val']) == ids
    assert split_ids(list(reversed(ids)), 0.25, seed=3) == split
    assert split_ids(ids, 0.25, seed=4) != split
    with pytest.raises(ValueError, match='val_ratio'):
        split_ids(ids, 1.5)


def _load_tool(name):
    import importlib.util
    import os.path as osp
    path = osp.join(
        osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
        name + '.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kitti2coco_cli_with_split_files(tmp_path):
    label_dir, image_dir = _write_kitti(tmp_path)
    (tmp_path / 'val.txt').write_text('000001\n')
    (tmp_path / 'train.txt').write_text('000000\n000003\n')  # 3: no label
    out = tmp_path / 'out'
    _load_tool('kitti2coco').main([
        str(tmp_path), '--label-dir', label_dir, '--image-dir', image_dir,
        '--out-dir',
        str(out), '--split-file', f'train={tmp_path}/train.txt',
        '--split-file', f'val={tmp_path}/val.txt'
    ])
    train = json.loads((out / 'kitti_train.json').read_text())
    val = json.loads((out / 'kitti_val.json').read_text())
    assert [i['file_name'] for i in train['images']] == ['000000.png']
    assert [i['file_name'] for i in val['images']] == ['000001.png']
    assert len(train['annotations']) == 3 and len(val['annotations']) == 1


def _xml(filename, size, objects):
    objs = ''.join(f'<object><name>{w}</name><bndbox><xmin>{b[0]}</xmin>'
                   f'<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax>'
                   f'</bndbox></object>' for w, b in objects)
    size_xml = (f'<size><width>{size[0]}</width><height>{size[1]}</height>'
                f'</size>' if size else '')
    return (f'<annotation><folder>x</folder><filename>{filename}</filename>'
            f'{size_xml}{objs}</annotation>')


def _write_ilsvrc(root):
    ann = root / 'Annotations' / 'DET' / 'val'
    ann.mkdir(parents=True)
    (ann / 'a.xml').write_text(
        _xml(
            'a',
            (100, 80),
            [
                ('n001', (10, 20, 50, 60)),  # kept
                ('n003', (0, 0, 120, 40)),  # clipped to x2 = 100
                ('n999', (1, 1, 5, 5)),  # unknown wnid
                ('n002', (30, 30, 30, 40)),  # degenerate
            ]))
    (ann / 'b.xml').write_text(_xml('b', (64, 64), []))  # no objects
    (ann / 'c.xml').write_text('<annotation><size><width>1')  # bad XML
    bad_box = ('n001', (1, 2, 'x', 9))  # non-numeric coordinate
    (ann / 'd.xml').write_text(_xml('d', (64, 64), [bad_box]))
    (ann / 'e.xml').write_text(_xml('e', None, []))  # no <size>
    return str(root / 'Annotations' / 'DET')


def test_load_meta_text_formats(tmp_path):
    want = [('n001', 'cat'), ('n002', 'hot dog'), ('n003', 'zebra')]
    (tmp_path / 'a.txt').write_text('n001 cat\nn002 hot dog\n\nn003 zebra\n')
    (tmp_path / 'b.txt').write_text('3 n003 zebra\n1 n001 cat\n'
                                    '2 n002 hot dog\n')
    (tmp_path / 'c.txt').write_text('n002 2 hot dog\nn001 1 cat\n'
                                    'n003 3 zebra\n')
    for name in ('a', 'b', 'c'):
        assert load_meta(str(tmp_path / f'{name}.txt')) == want
    (tmp_path / 'bad.txt').write_text('n001\n')
    with pytest.raises(ValueError, match='bad.txt:1'):
        load_meta(str(tmp_path / 'bad.txt'))


def test_load_meta_mat(tmp_path):
    from scipy.io import savemat
    dtype = [('ILSVRC2014_DET_ID', 'O'), ('WNID', 'O'), ('name', 'O')]
    # Ids > 200 are hierarchy nodes of meta_det.mat, not classes.
    synsets = np.array([(2, 'n002', 'hot dog'), (1, 'n001', 'cat'),
                        (201, 'n500', 'animal')],
                       dtype=dtype)
    savemat(str(tmp_path / 'meta_det.mat'), {'synsets': synsets[None]})
    assert load_meta(str(tmp_path / 'meta_det.mat')) == [('n001', 'cat'),
                                                         ('n002', 'hot dog')]


def test_ilsvrc_det_to_coco(tmp_path, caplog):
    ann_dir = _write_ilsvrc(tmp_path)
    synsets = [('n001', 'cat'), ('n002', 'hot dog'), ('n003', 'zebra')]
    files = list_xml_files(ann_dir)
    assert files == [f'val/{c}.xml' for c in 'abcde']
    with caplog.at_level(logging.WARNING, logger='mmkd.converters'):
        coco, stats = ilsvrc_det_to_coco(ann_dir, files, synsets)
    assert dict(stats) == {
        'images': 2,
        'annotations': 2,
        'clipped': 1,
        'unknown_class': 1,
        'degenerate_boxes': 1,
        'malformed_files': 3
    }
    for name in ('val/c.xml', 'val/d.xml', 'val/e.xml'):
        assert f'{name}:' in caplog.text
    assert [(i['id'], i['file_name'], i['width']) for i in coco['images']] \
        == [(1, 'val/a.JPEG', 100), (2, 'val/b.JPEG', 64)]
    assert [(a['category_id'], a['bbox'])
            for a in coco['annotations']] == [(1, [10.0, 20.0, 40.0, 40.0]),
                                              (3, [0.0, 0.0, 100.0, 40.0])]
    assert [c['name']
            for c in coco['categories']] == ['cat', 'hot dog', 'zebra']


def test_ilsvrc_cli_with_image_set(tmp_path):
    ann_dir = _write_ilsvrc(tmp_path)
    (tmp_path / 'meta.txt').write_text('n001 cat\nn002 hot dog\nn003 zebra')
    (tmp_path / 'val.txt').write_text('val/a 1\nval/b 2\n')
    out = tmp_path / 'out.json'
    _load_tool('ilsvrc_det2coco').main([
        ann_dir, '--meta',
        str(tmp_path / 'meta.txt'), '--image-set',
        str(tmp_path / 'val.txt'), '--out',
        str(out)
    ])
    coco = json.loads(out.read_text())
    assert len(coco['images']) == 2 and len(coco['annotations']) == 2


def test_ilsvrc_class_names_match_config():
    from mmengine.config import Config
    cfg = Config.fromfile('configs/_base_/datasets/ilsvrc_det.py')
    assert tuple(cfg.classes) == ILSVRC_DET_CLASSES
    assert len(set(ILSVRC_DET_CLASSES)) == 200
    synsets = [(f'n{i}', n) for i, n in enumerate(ILSVRC_DET_CLASSES)]
    assert check_class_names(synsets) == []
    synsets[3] = ('n3', 'gnu')
    assert check_class_names(synsets) == [
        "class 4: 'gnu' instead of 'antelope'"
    ]
