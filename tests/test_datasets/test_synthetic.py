"""The generated dataset, its CLI and its MMDetection dataset config."""
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from mmkd.datasets import synthetic
from mmkd.datasets.synthetic import (SPLITS, SYNTHETIC_CLASSES,
                                     generate_synthetic_coco)
from mmkd.testing import ROOT, data_overrides

TINY = dict(num_train=6, num_val=6, num_test=6, img_size=(64, 64))
CLI = osp.join(ROOT, 'tools', 'dataset_converters', 'generate_synthetic.py')
CONFIG = osp.join(ROOT, 'configs', '_base_', 'datasets', 'synthetic_coco.py')


def _files(root):
    """Relative path -> bytes of every file under ``root``."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def _load(root, split):
    return COCO(osp.join(root, 'annotations', f'instances_{split}.json'))


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    generate_synthetic_coco(a, seed=3, **TINY)
    generate_synthetic_coco(b, seed=3, workers=2, **TINY)  # in parallel
    generate_synthetic_coco(c, seed=4, **TINY)
    files_a, files_c = _files(a), _files(c)
    # 3 splits x 6 images, 3 annotation files and settings.json.
    assert len(files_a) == 18 + 3 + 1
    assert files_a == _files(b)
    assert sorted(files_c) == sorted(files_a)
    changed = [
        k for k in files_a if k != 'settings.json' and files_a[k] != files_c[k]
    ]
    assert len(changed) == 18 + 3
    # The splits come from independent streams: no image is repeated.
    assert len({files_a[f'{s}/000000.png'] for s in SPLITS}) == 3


def test_valid_coco_boxes_inside_images(tmp_path):
    generate_synthetic_coco(str(tmp_path), seed=0, **TINY)
    for split in SPLITS:
        coco = _load(str(tmp_path), split)
        cats = coco.loadCats(coco.getCatIds())
        assert [c['id'] for c in cats] == [1, 2, 3, 4, 5, 6]
        assert tuple(c['name'] for c in cats) == SYNTHETIC_CLASSES
        assert sorted(coco.getImgIds()) == [1, 2, 3, 4, 5, 6]
        anns = coco.loadAnns(coco.getAnnIds())
        assert sorted(a['id'] for a in anns) == list(range(1, len(anns) + 1))
        for img in coco.loadImgs(coco.getImgIds()):
            pixels = cv2.imread(osp.join(tmp_path, split, img['file_name']))
            assert pixels.shape == (img['height'], img['width'], 3)
            assert (img['height'], img['width']) == (64, 64)
        for ann in anns:
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= 64 and y + h <= 64
            assert 0 < ann['area'] <= w * h
            assert ann['iscrowd'] == 0 and 1 <= ann['category_id'] <= 6


def test_every_class_sizes_and_summary(tmp_path):
    summary = generate_synthetic_coco(
        str(tmp_path), num_train=40, num_val=1, num_test=1, seed=0)
    coco = _load(str(tmp_path), 'train')
    counts = np.bincount(
        [a['category_id'] - 1 for a in coco.dataset['annotations']],
        minlength=6)
    assert summary['train']['class_counts'] == dict(
        zip(SYNTHETIC_CLASSES, counts.tolist()))
    assert summary['train']['images'] == 40
    assert counts.min() >= 5  # about 40 * 3.5 / 6 = 23 per class
    sides = np.array([max(a['bbox'][2:]) for a in coco.dataset['annotations']])
    # Default sizes: 8 px to 3/8 of 128 = 48 px (times aspect and rotation).
    assert sides.min() < 12 and sides.max() > 36
    assert sides.min() >= 5 and sides.max() <= 48 * 1.12 * 1.42


def test_occluded_objects_are_dropped(tmp_path):
    """The visibility threshold only drops annotations: same images."""
    loose, strict = str(tmp_path / 'loose'), str(tmp_path / 'strict')
    generate_synthetic_coco(loose, min_visible=0.0, seed=1, **TINY)
    generate_synthetic_coco(strict, min_visible=0.99, seed=1, **TINY)
    assert _files(loose)['train/000003.png'] == _files(
        strict)['train/000003.png']
    n_loose = n_strict = 0
    for split in SPLITS:
        boxes = [{(a['image_id'], tuple(a['bbox']))
                  for a in _load(root, split).dataset['annotations']}
                 for root in (loose, strict)]
        assert boxes[1] <= boxes[0]
        n_loose, n_strict = n_loose + len(boxes[0]), n_strict + len(boxes[1])
    assert n_strict < n_loose


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match='min_size <= max_size'):
        generate_synthetic_coco(str(tmp_path), min_size=20, max_size=10)
    with pytest.raises(ValueError, match='<= min.img_size. / 2'):
        generate_synthetic_coco(str(tmp_path), img_size=(64, 64), max_size=40)


def _cli():
    spec = importlib.util.spec_from_file_location('generate_synthetic', CLI)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_cli_skips_regenerates_and_never_leaves_half_data(
        tmp_path, capsys, monkeypatch):
    main, out = _cli(), str(tmp_path / 'syn')
    small = [
        '--out', out, '--num-train', '3', '--num-val', '2', '--num-test', '2',
        '--img-size', '64', '64'
    ]
    assert main(small) == 0
    assert 'Generating' in capsys.readouterr().out
    stamp = os.stat(osp.join(out, 'train', '000000.png')).st_mtime_ns
    assert main(small) == 0
    assert 'skipped' in capsys.readouterr().out
    assert os.stat(osp.join(out, 'train', '000000.png')).st_mtime_ns == stamp
    assert main(small + ['--seed', '1']) == 0  # settings differ
    assert 'settings differ' in capsys.readouterr().out
    with open(osp.join(out, 'settings.json')) as f:
        assert json.load(f)['seed'] == 1
    assert main(small + ['--seed', '1', '--force']) == 0
    assert 'Generating' in capsys.readouterr().out

    def killed(out_dir, **kwargs):
        os.makedirs(osp.join(out_dir, 'train'))
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, 'generate_synthetic_coco', killed)
    with pytest.raises(KeyboardInterrupt):
        main(small + ['--seed', '2'])
    assert os.listdir(tmp_path) == ['syn']  # no temporary folder left
    with open(osp.join(out, 'settings.json')) as f:
        assert json.load(f)['seed'] == 1  # the old dataset is intact


def test_cli_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / 'notes.txt').write_text('mine')
    with pytest.raises(SystemExit, match='not a generated dataset'):
        _cli()(['--out', str(tmp_path), '--num-train', '1'])
    assert os.listdir(tmp_path) == ['notes.txt']


def test_dataset_config_builds_in_the_mmkd_scope(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd.datasets import CheckedCocoDataset
    from mmkd.registry import DATASETS
    generate_synthetic_coco(str(tmp_path), seed=0, **TINY)
    cfg = Config.fromfile(CONFIG)
    assert cfg.metainfo.classes == SYNTHETIC_CLASSES
    assert len(cfg.metainfo.palette) == len(SYNTHETIC_CLASSES)
    cfg.merge_from_dict(data_overrides(str(tmp_path)))
    assert cfg.test_evaluator.ann_file.endswith('instances_test.json')
    init_default_scope('mmkd')  # as the Runner does with the config's scope
    for split in SPLITS:
        dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
        assert type(dataset) is CheckedCocoDataset
        assert dataset.metainfo['classes'] == SYNTHETIC_CLASSES
        assert osp.dirname(dataset[0]['data_samples'].img_path).endswith(split)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert 0 < len(train) <= 6
    sample = train[0]
    assert sample['inputs'].shape == (3, 128, 128)  # resized from 64 px
    gt = sample['data_samples'].gt_instances
    assert gt.bboxes.shape[0] == len(gt.labels) > 0
    assert 0 <= gt.labels.min() and gt.labels.max() < 6
    assert (gt.bboxes.tensor[:, 2:] > gt.bboxes.tensor[:, :2]).all()
    assert gt.bboxes.tensor.max() <= 128


def test_masks_leave_images_and_boxes_as_they_were(tmp_path):
    """The masks take no random draws: the pixels, classes, boxes and areas
    of a seed are those of the generator before it drew masks."""
    import hashlib
    generate_synthetic_coco(
        str(tmp_path),
        num_train=4,
        num_val=2,
        num_test=2,
        img_size=(96, 128),
        seed=3)
    digest = hashlib.sha256()
    for split in SPLITS:
        with open(tmp_path / 'annotations' / f'instances_{split}.json') as f:
            coco = json.load(f)
        for img in coco['images']:
            digest.update(
                cv2.imread(str(tmp_path / split / img['file_name'])).tobytes())
        digest.update(
            json.dumps([(a['image_id'], a['category_id'], a['bbox'], a['area'])
                        for a in coco['annotations']]).encode())
    # sha256 of the same data written by generator version 1 (no masks)
    assert digest.hexdigest() == (
        '5be9f381d0090802dc04aba1ce38bae341d805357ee973ebd69005d0efeb7630')


def _masks(coco, image_id):
    from pycocotools import mask as mask_utils
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
    return anns, [mask_utils.decode(a['segmentation']) for a in anns]


def test_an_unoccluded_objects_mask_is_its_shape(tmp_path):
    """Without clutter, one object per image: the mask covers the object's
    area (to the rasterisation of its outline), lies in its box, and a
    ring's mask has a hole where a disc's is filled."""
    generate_synthetic_coco(
        str(tmp_path),
        num_train=40,
        num_val=1,
        num_test=1,
        img_size=(64, 64),
        seed=0,
        clutter=0.0,
        noise=0.0,
        max_objects=1,
        min_size=16.0)
    coco = _load(str(tmp_path), 'train')
    centres = {1: [], 2: []}
    for image_id in coco.getImgIds():
        [ann], [mask] = _masks(coco, image_id)
        assert mask.shape == (64, 64) and mask.dtype == np.uint8
        x, y, w, h = ann['bbox']
        ys, xs = np.nonzero(mask)
        assert xs.min() >= x - 1 and xs.max() <= x + w
        assert ys.min() >= y - 1 and ys.max() <= y + h
        # the outline's pixels can fall either side of one half
        assert abs(mask.sum() - ann['area']) <= (w + h) / 2, ann
        if ann['category_id'] in centres:  # an axis-aligned ellipse's centre
            centres[ann['category_id']].append(mask[int(y + h / 2),
                                                    int(x + w / 2)])
    assert centres[1] and all(v == 1 for v in centres[1])  # disc: filled
    assert centres[2] and all(v == 0 for v in centres[2])  # ring: its hole


def test_occluded_masks_keep_only_what_is_visible(tmp_path):
    """With clutter, an object's mask is its visible part: never more than
    its area, at least min_visible of it, and no pixel is in two masks (a
    pixel an outline splits in half goes to the object in front)."""
    generate_synthetic_coco(str(tmp_path), seed=1, **TINY)
    coco = _load(str(tmp_path), 'train')
    shared = 0
    for image_id in coco.getImgIds():
        anns, masks = _masks(coco, image_id)
        for ann, mask in zip(anns, masks):
            x, y, w, h = ann['bbox']
            assert mask.sum() <= ann['area'] + (w + h) / 2
            assert mask.sum() >= 0.4 * ann['area'] - (w + h) / 2
        for i in range(len(masks)):
            for j in range(i):
                shared += int((masks[i] & masks[j]).sum())
    assert shared == 0
