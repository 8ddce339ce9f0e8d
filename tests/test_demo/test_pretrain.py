"""Pre-training of the demo's trunks: the generated classification images,
tools/misc/pretrain_trunk.py, and the ``*_pretrained.py`` detector configs
loading its checkpoint through ``init_weights()``."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.datasets.synthetic import SPLITS, SYNTHETIC_CLASSES
from mmkd.datasets.synthetic_cls import (CLS_CLASSES, CLS_SPLITS,
                                         generate_cls_split, render_item)
from mmkd.registry import MODELS
from mmkd.testing import ROOT, load_tool

tool = load_tool('misc/pretrain_trunk')
CONFIGS = {
    w:
    osp.join(ROOT, 'configs', 'faster_rcnn',
             f'frcnn_r18w{w}_synthetic_pretrained.py')
    for w in (8, 32)
}
KD_CONFIG = osp.join(ROOT, 'configs', 'kd', 'frcnn_r18w32_r18w8_synthetic.py')
VGG_CONFIG = osp.join(ROOT, 'configs', 'faster_rcnn', 'frcnn_vgg16_voc.py')
# A handful of steps: 24 images of 32 px, batches of 12, one epoch.
TINY = [
    '--num-images', '24', '--num-val', '12', '--batch-size', '12',
    '--img-size', '32', '--epochs', '1'
]

pytestmark = pytest.mark.usefixtures('one_thread')


def _pretrain(out, width=8, *extra):
    return tool.main(['--width', str(width), '--out', str(out), *TINY, *extra])


def _error(*argv):
    with pytest.raises(SystemExit) as info:
        tool.main([str(a) for a in argv])
    return str(info.value.code)


# ------------------------------------------------------------------ data
def test_images_are_seeded_balanced_and_apart_from_detection_streams():
    a, labels = generate_cls_split('train', 24, seed=3, img_size=32)
    b, labels_b = generate_cls_split('train', 24, seed=3, img_size=32)
    c, _ = generate_cls_split('train', 24, seed=4, img_size=32)
    val, _ = generate_cls_split('val', 24, seed=3, img_size=32)
    assert a.shape == (24, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and np.array_equal(labels, labels_b)
    assert all(not np.array_equal(x, y) for x, y in zip(a, c))
    assert all(not np.array_equal(x, y) for x, y in zip(a, val))
    # Two images of each of the 12 classes, in class order.
    assert labels.tolist() == list(range(12)) * 2
    assert CLS_CLASSES[:6] == SYNTHETIC_CLASSES and len(CLS_CLASSES) == 12
    # Streams (seed, split id, i): the detection splits use ids 0, 1, 2.
    assert set(CLS_SPLITS.values()).isdisjoint(range(len(SPLITS)))


def test_labels_name_what_is_drawn():
    # Without clutter and noise; the item is drawn last, over the scene and
    # window that its stream gives `background` too.
    clean = dict(clutter=0.0, noise=0.0)
    images, labels = generate_cls_split('train', 48, seed=0, **clean)
    for i, (img, label) in enumerate(zip(images, labels)):
        kind = CLS_CLASSES[label]
        stream = [0, CLS_SPLITS['train'], i]
        assert np.array_equal(
            img, render_item(np.random.default_rng(stream), kind, **clean))
        scene = render_item(
            np.random.default_rng(stream), 'background', **clean)
        item = np.abs(img.astype(int) - scene).max(2) > 10
        if kind == 'background':
            assert not item.any()
            continue
        assert item.mean() > 0.03, kind  # 1/2.2^2 of the image at least
        if kind in ('disc', 'ring'):
            # A ring's centre (that of its pixels) is its hole.
            ys, xs = np.nonzero(item)
            hole = not item[int(ys.mean().round()), int(xs.mean().round())]
            assert hole == (kind == 'ring'), (i, kind)


# ------------------------------------------------ checkpoint and configs
def _config_model(width, ckpt):
    cfg = Config.fromfile(CONFIGS[width])
    assert cfg.model.init_cfg == dict(
        type='Pretrained', checkpoint=f'work_dirs/pretrain/r18w{width}.pth')
    cfg.model.init_cfg.checkpoint = str(ckpt)
    return cfg.model


def _assert_loaded(backbone, ckpt):
    state = torch.load(ckpt, weights_only=True)['state_dict']
    own = {'backbone.' + k: v for k, v in backbone.state_dict().items()}
    assert sorted(own) == sorted(state)
    for key, value in state.items():
        assert torch.equal(own[key], value), key


@pytest.mark.parametrize('width', [8, 32])
def test_detector_init_weights_loads_the_pretrained_trunk(tmp_path, width):
    ckpt = tmp_path / f'r18w{width}.pth'
    assert _pretrain(ckpt, width) == 0
    meta = torch.load(ckpt, weights_only=True)['meta']
    assert meta['settings']['width'] == width
    assert 0.0 <= meta['val_accuracy'] <= 1.0
    init_default_scope('mmkd')
    torch.manual_seed(0)
    model = MODELS.build(_config_model(width, ckpt))
    before = model.backbone.layer4[1].conv2.weight.clone()
    model.init_weights()
    assert not torch.equal(before, model.backbone.layer4[1].conv2.weight)
    _assert_loaded(model.backbone, ckpt)
    # The stem and the first stage stay frozen, BN in eval mode.
    model.train()
    assert not model.backbone.conv1.weight.requires_grad
    assert not model.backbone.layer1[0].conv1.weight.requires_grad
    assert model.backbone.layer2[0].conv1.weight.requires_grad
    assert not model.backbone.layer3[0].bn1.training


def test_distiller_init_weights_loads_the_students_trunk(
        tmp_path, monkeypatch):
    ckpt = tmp_path / 'r18w8.pth'
    _pretrain(ckpt)
    monkeypatch.chdir(ROOT)  # the teacher config path is relative
    kd = Config.fromfile(KD_CONFIG).model
    kd.student = _config_model(8, ckpt)
    kd.teacher_ckpt, kd.random_teacher = None, True
    init_default_scope('mmkd')
    torch.manual_seed(0)
    distiller = MODELS.build(kd)
    distiller.init_weights()
    _assert_loaded(distiller.student.backbone, ckpt)


# ------------------------------------------------------------ the tool
def test_second_run_keeps_the_output_and_other_settings_are_refused(
        tmp_path, capsys):
    ckpt = tmp_path / 'out' / 'w8.pth'
    _pretrain(ckpt)
    data = ckpt.read_bytes()
    capsys.readouterr()
    assert _pretrain(ckpt) == 0
    assert 'already holds this pre-trained trunk' in capsys.readouterr().out
    assert ckpt.read_bytes() == data
    message = _error('--width', 8, '--out', ckpt, *TINY, '--seed', 1)
    assert message.startswith(f'error: {ckpt} holds a trunk pre-trained '
                              'with other settings: seed=0 (asked: 1); ')
    assert message.endswith('pass --force to replace it')
    assert ckpt.read_bytes() == data
    assert _pretrain(ckpt, 8, '--seed', '1', '--force') == 0
    meta = torch.load(ckpt, weights_only=True)['meta']
    assert meta['settings']['seed'] == 1


def test_unreadable_output_is_not_replaced(tmp_path):
    ckpt = tmp_path / 'w8.pth'
    ckpt.write_bytes(b'not a checkpoint')
    message = _error('--width', 8, '--out', ckpt, *TINY)
    assert message.startswith(f'error: {ckpt} exists but is not a '
                              'pre-trained trunk (')
    assert ckpt.read_bytes() == b'not a checkpoint'


@pytest.mark.parametrize('argv, expected', [
    (['--width', '0'], 'error: --width 0 is out of range; use a value >= 1'),
    (['--width', 'x'], "error: argument --width: invalid int value: 'x'"),
    ([], 'error: the following arguments are required: --width'),
    (['--width', '8', '--batch-size', '1'
      ], 'error: --batch-size 1 is out of range; use a value >= 2 (BN)'),
    (['--width', '8', '--num-images', '5'
      ], 'error: --num-images 5 is out of range; use a value >= 64'),
    (['--width', '8', '--config', 'nowhere.py'
      ], "error: config file 'nowhere.py' does not exist"),
    (['--width', '8', '--config', VGG_CONFIG
      ], f"error: --config {VGG_CONFIG}: model.backbone.type='VGG16'; this "
     "stage trains the demo's ResNet trunks"),
])
def test_bad_arguments_give_one_error_line(tmp_path, argv, expected):
    message = _error(*argv, '--out', tmp_path / 'w.pth')
    assert message.startswith(expected), message
    assert '\n' not in message
    assert not (tmp_path / 'w.pth').exists()
