"""Pre-training of the demo's detector trunks: the stand-in for ImageNet.

``tools/misc/pretrain_trunk.py --width 32`` is the command line.

The paper's detectors start from ImageNet-trained trunks; no download is
possible here, so the demo's ResNet-18 trunk (the detector config's own
``model.backbone``, ``base_channels`` set to ``--width``) is trained, with a
global-average-pool + linear head, to classify the generated images of
:mod:`mmkd.datasets.synthetic_cls` (the detection dataset's six classes,
its five clutter distractors and clutter alone), normalised by the
detector's own data preprocessor. Plain PyTorch loop on CPU: AdamW, a
linear warm-up over 5 % of the steps then a cosine decay, horizontal flips
(they keep every class a class of its own). AdamW reached a higher held-out
accuracy than SGD (lr 0.1, Nesterov) in the same number of steps.

The output is an ordinary checkpoint ``{'state_dict', 'meta'}`` written
atomically. Its keys are the detector's own (``backbone.conv1.weight``,
BN statistics included), so that the detector config loads it with
``model.init_cfg = dict(type='Pretrained', checkpoint=OUT)``, as the VGG16 /
AlexNet configs load their ImageNet trunks (or, at the backbone level,
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``).
``meta`` holds the settings and the held-out accuracy. An existing output
with the same settings is kept (``--force`` retrains).

Measured with the defaults (12000 images, 4 epochs, one thread): held-out
accuracy 0.794 for width 32 (5.8 min of CPU) and 0.618 for width 8 (1.9 min,
still rising: more ``--epochs`` pay off at this width); chance is 1 / 12.
"""
import json
import logging
import math
import os.path as osp
import time

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from torch import nn

from mmkd.datasets.synthetic_cls import CLS_CLASSES, generate_cls_split
from mmkd.engine.checkpoint import atomic_torch_save
from mmkd.engine.config_check import load_config
from mmkd.registry import MODELS
from mmkd.utils.errors import CheckpointError, ConfigError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODEL_CONFIG = 'configs/_base_/models/faster_rcnn_r18_fpn_small.py'
# Checkpoint keys are the detector's: its trunk is `model.backbone`.
PREFIX = 'backbone.'
# Knobs of a run; they are stored in meta['settings'] and decide whether an
# existing output is the same run. (name, type, default, help)
KNOBS = (
    ('seed', int, 0, 'seed of the data, the initialisation and the order'),
    ('epochs', int, 4, 'passes over the training images'),
    ('num_images', int, 12000, 'generated training images'),
    ('num_val', int, 1200, 'generated held-out images (accuracy)'),
    ('img_size', int, 48, 'side of the generated images (px)'),
    ('batch_size', int, 64, 'images per step'),
    ('lr', float, 5e-3, 'peak learning rate (AdamW)'),
    ('weight_decay', float, 0.05, 'AdamW weight decay'),
)


class TrunkClassifier(nn.Module):
    """A detector trunk with a global-average-pool + linear head.

    Args:
        backbone (dict): The trunk config (an MMDetection ``ResNet``).
        num_classes (int): Classes of the head.
    """

    def __init__(self, backbone: dict, num_classes: int) -> None:
        super().__init__()
        with DefaultScope.overwrite_default_scope('mmdet'):
            self.backbone = MODELS.build(backbone)
        self.fc = nn.Linear(self.backbone.feat_dim, num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` normalised images to ``(N, num_classes)``
        logits."""
        return self.fc(self.backbone(inputs)[-1].mean((2, 3)))


def trunk_config(config: str, width: int) -> tuple:
    """The detector config's trunk at ``width`` and its normalisation.

    Returns:
        tuple[dict, dict]: The backbone config (trained from scratch: no
        frozen stage, trainable BN) and ``dict(mean, std, bgr_to_rgb)`` of
        the detector's data preprocessor.
    """
    model = load_config(config).model
    if 'backbone' not in model or 'data_preprocessor' not in model:
        raise ConfigError(f'--config {config}: its model has no backbone or '
                          'data_preprocessor; give a detector config')
    backbone = model.backbone.to_dict()
    if backbone.get('type') not in ('ResNet', 'mmdet.ResNet'):
        raise ConfigError(f"--config {config}: model.backbone.type="
                          f"{backbone.get('type')!r}; this stage trains the "
                          "demo's ResNet trunks")
    norm = dict(backbone.get('norm_cfg', dict(type='BN')), requires_grad=True)
    backbone.update(
        base_channels=width,
        frozen_stages=-1,
        norm_cfg=norm,
        norm_eval=False,
        init_cfg=None,
        pretrained=None)
    pre = model.data_preprocessor
    return backbone, dict(
        mean=list(pre.mean),
        std=list(pre.std),
        bgr_to_rgb=bool(pre.get('bgr_to_rgb', False)))


def to_inputs(images: np.ndarray, norm: dict) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 images as the detector's preprocessor gives
    them to the trunk: ``(N, 3, H, W)`` float, channel order and mean / std
    of ``norm``."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    if norm['bgr_to_rgb']:
        x = x.flip(1)
    mean = torch.tensor(norm['mean']).view(1, 3, 1, 1)
    return (x - mean) / torch.tensor(norm['std']).view(1, 3, 1, 1)


def train(model, images, labels, norm, s, log=print) -> None:
    """Train ``model`` for ``s['epochs']`` passes (settings ``s``)."""
    gen = torch.Generator().manual_seed(s['seed'])
    steps_per_epoch = len(images) // s['batch_size']
    total = s['epochs'] * steps_per_epoch
    warmup = max(1, total // 20)
    optim = torch.optim.AdamW(
        model.parameters(), lr=s['lr'], weight_decay=s['weight_decay'])
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda i: min((i + 1) / warmup, 0.5 *
                             (1 + math.cos(math.pi * i / total))))
    model.train()
    for epoch in range(s['epochs']):
        order = torch.randperm(len(images), generator=gen)
        flips = torch.rand(len(images), generator=gen) < 0.5
        loss_sum, correct, start = 0., 0, time.perf_counter()
        for step in range(steps_per_epoch):
            idx = order[step * s['batch_size']:(step + 1) * s['batch_size']]
            x = to_inputs(images[idx.numpy()], norm)
            x = torch.where(flips[idx].view(-1, 1, 1, 1), x.flip(3), x)
            y = torch.from_numpy(labels[idx.numpy()])
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            loss_sum += loss.item()
            correct += (logits.argmax(1) == y).sum().item()
        seen = steps_per_epoch * s['batch_size']
        log(f'epoch {epoch + 1}/{s["epochs"]}: loss '
            f'{loss_sum / steps_per_epoch:.3f}, train accuracy '
            f'{correct / seen:.3f} ({time.perf_counter() - start:.0f} s)')


@torch.no_grad()
def evaluate(model, images, labels, norm, batch_size=256) -> dict:
    """Top-1 accuracy, overall and per class, of ``model`` in eval mode."""
    model.eval()
    preds = torch.cat([
        model(to_inputs(images[i:i + batch_size], norm)).argmax(1)
        for i in range(0, len(images), batch_size)
    ]).numpy()
    hits = preds == labels
    per_class = {
        name: float(hits[labels == k].mean())
        for k, name in enumerate(CLS_CLASSES)
    }
    return dict(accuracy=float(hits.mean()), per_class=per_class)


def run_settings(width: int, config: str = None, **knobs) -> dict:
    """All that decides a run: the ``KNOBS`` (defaults for those not
    given), the width, the trunk config and the normalisation, as plain
    JSON types (they are compared with an existing output's).

    Raises:
        ConfigError: a value that cannot train, naming the option.
    """
    settings = {name: knobs.pop(name, d) for name, _, d, _ in KNOBS}
    if knobs:
        raise TypeError(f'unknown settings {sorted(knobs)}')
    least = max(len(CLS_CLASSES), settings['batch_size'])
    rules = {
        'width': (width >= 1, '>= 1'),
        'epochs': (settings['epochs'] >= 1, '>= 1'),
        'batch_size': (settings['batch_size'] >= 2, '>= 2 (BN)'),
        'img_size': (32 <= settings['img_size'] <= 128, 'in [32, 128]'),
        'lr': (settings['lr'] > 0, '> 0'),
        'num_images': (settings['num_images'] >= least, f'>= {least} (one '
                       'image per class and one batch)'),
        'num_val': (settings['num_val'] >= least, f'>= {least}'),
    }
    for key, (ok, rule) in rules.items():
        if not ok:
            value = width if key == 'width' else settings[key]
            raise ConfigError(f"--{key.replace('_', '-')} {value} is out of "
                              f'range; use a value {rule}')
    backbone, norm = trunk_config(
        config or osp.join(ROOT, MODEL_CONFIG), width)
    settings.update(width=width, backbone=backbone, norm=norm)
    return json.loads(json.dumps(settings))


def existing_run(out: str, settings: dict):
    """The ``meta`` of ``out`` if it holds the run of ``settings``; None if
    there is no ``out``.

    Raises:
        CheckpointError: ``out`` is not a complete pre-trained trunk.
        ConfigError: ``out`` was pre-trained with other settings.
    """
    if not osp.exists(out):
        return None
    try:
        found = torch.load(out, map_location='cpu', weights_only=True)
        meta = found['meta']
        old = meta['settings']
    except Exception as exc:  # noqa: BLE001 - any unreadable file
        raise CheckpointError(
            f'{out} exists but is not a pre-trained trunk ({exc!r:.80}); '
            'choose another --out, or pass --force to replace it') from None
    diff = [
        f'{k}={old.get(k)!r} (asked: {v!r})' for k, v in settings.items()
        if old.get(k) != v
    ]
    if diff:
        raise ConfigError(
            f'{out} holds a trunk pre-trained with other settings: '
            f'{"; ".join(diff)[:300]}; choose another --out, or pass --force '
            'to replace it')
    return meta


def pretrain_trunk(out: str, settings: dict, log=print) -> dict:
    """Pre-train the trunk of ``settings`` (see :func:`run_settings`) and
    write it to ``out`` (atomically).

    Returns:
        dict: The checkpoint's ``meta``: ``settings``, ``classes``,
        ``val_accuracy``, ``val_per_class``, ``seconds``, ``threads``.
    """
    s, start = settings, time.perf_counter()
    data = {
        split:
        generate_cls_split(
            split, s[key], seed=s['seed'], img_size=s['img_size'])
        for split, key in (('train', 'num_images'), ('val', 'num_val'))
    }
    gen_s = time.perf_counter() - start
    log(f'generated {s["num_images"]} + {s["num_val"]} images in '
        f'{gen_s:.0f} s')
    torch.manual_seed(s['seed'])
    model = TrunkClassifier(s['backbone'], len(CLS_CLASSES))
    # MMDetection's ResNet initialisation, without its per-parameter log.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.backbone.init_weights()
    finally:
        logger.setLevel(level)
    train(model, *data['train'], s['norm'], s, log)
    result = evaluate(model, *data['val'], s['norm'])
    meta = dict(
        settings=s,
        classes=list(CLS_CLASSES),
        val_accuracy=result['accuracy'],
        val_per_class=result['per_class'],
        seconds=dict(generate=gen_s, total=time.perf_counter() - start),
        threads=torch.get_num_threads())
    state = {PREFIX + k: v for k, v in model.backbone.state_dict().items()}
    atomic_torch_save(dict(state_dict=state, meta=meta), out)
    return meta
