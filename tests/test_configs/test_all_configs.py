"""Every config of the model zoo trains one iteration on CPU.

Each config under ``configs/faster_rcnn``, ``configs/mask_rcnn``,
``configs/cascade_rcnn`` and ``configs/kd`` is loaded as
``tools/train.py`` loads it and changed only through the dotted overrides a
user would pass with ``--cfg-options`` (``cfg.merge_from_dict``):

* data: every dataset is pointed at a tiny dataset written here, in the
  config's own format - COCO json for ``CheckedCocoDataset`` (COCO, KITTI,
  ILSVRC) and a VOCdevkit XML tree for ``VOCDataset``, so that VOC configs
  run their real ``RepeatDataset(ConcatDataset([VOC2007, VOC2012]))`` and
  ``VOCMetric``; images are resized to 64 px instead of 600 (the half-
  resolution student's to 32 px), one epoch is one iteration (batch 2);
* size: the plain trunks (VGG16 / VGG-M / AlexNet, Tucker ranks included)
  are 16x narrower and fc6 / fc7 32 wide, and no pretrained weights load;
  a distiller's teacher config file is loaded into a dict and shrunk the
  same way.

Types, heads, schedules, hooks and distillation terms stay the config's
own; the Runner then trains one iteration and validates once.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmkd.models.distillers.export import is_distiller
from mmkd.testing.tiny_datasets import IMG_SIZE, write_coco, write_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(path, ROOT)
    for folder in ('faster_rcnn', 'mask_rcnn', 'cascade_rcnn', 'kd')
    for path in glob.glob(osp.join(ROOT, 'configs', folder, '*.py')))
SYNTHETIC_BASE = osp.join(ROOT, 'configs', '_base_', 'datasets',
                          'synthetic_coco.py')
WIDTH = 1 / 16  # trunk width multiplier of the test
PAPER_SHORT_SIDE = 600  # the configs' input scale (shorter side)


def hard_losses(detector: dict) -> set:
    """The detector's own loss keys: RPN, box head (and mask head) of
    every stage (``s0.loss_cls``, ... for a cascade, as MMDetection)."""
    roi = detector['roi_head']
    keys = ['loss_cls', 'loss_bbox'
            ] + (['loss_mask'] if roi.get('mask_head') else [])
    if roi['type'] == 'CascadeRoIHead':
        keys = [f's{i}.{k}' for i in range(roi['num_stages']) for k in keys]
    return {'loss_rpn_cls', 'loss_rpn_bbox', *keys}


def _scaled(channels: int) -> int:
    """Channels at :data:`WIDTH`, rounded as ``PlainTrunk`` rounds them."""
    return max(1, int(round(channels * WIDTH)))


def shrink_options(model: dict, prefix: str) -> dict:
    """Overrides that shrink a plain-trunk detector and skip pretraining."""
    opts = {f'{prefix}init_cfg': None}
    if 'width_mult' not in model['backbone']:
        return opts  # e.g. the ResNet-18 demo models, already small
    c5 = _scaled(model['rpn_head']['in_channels'])
    opts.update({
        f'{prefix}backbone.width_mult': WIDTH,
        f'{prefix}rpn_head.in_channels': c5,
        f'{prefix}rpn_head.feat_channels': 16,
        f'{prefix}roi_head.bbox_roi_extractor.out_channels': c5,
        f'{prefix}roi_head.bbox_head.in_channels': c5,
        f'{prefix}roi_head.bbox_head.fc_out_channels': 32,
    })
    ranks = model['backbone'].get('tucker_ranks') or {}
    for conv, (r_in, r_out) in ranks.items():
        opts[f'{prefix}backbone.tucker_ranks.{conv}'] = [
            _scaled(r_in), _scaled(r_out)
        ]
    return opts


def distiller_options(model: dict) -> dict:
    """Shrink student, adapters and the teacher (loaded from its file)."""
    opts = shrink_options(model['student'], 'model.student.')
    shrunk = 'width_mult' in model['student']['backbone']
    for i, adapter in enumerate(model.get('adapters') or []):
        if adapter is not None and shrunk:
            for key in ('in_channels', 'out_channels'):
                opts[f'model.adapters.{i}.{key}'] = _scaled(adapter[key])
    assert osp.isfile(osp.join(ROOT, model['teacher'])), model['teacher']
    teacher = Config.fromfile(osp.join(ROOT, model['teacher']))
    teacher.merge_from_dict(shrink_options(teacher.model, 'model.'))
    opts['model.teacher'] = dict(teacher.model.to_dict(), _delete_=True)
    opts['model.teacher_ckpt'] = None
    opts['model.random_teacher'] = True  # the mechanics, not the teacher
    return opts


def leaf_datasets(dataset: dict, path: str):
    """``(dotted path, config)`` of the datasets inside wrappers."""
    if 'dataset' in dataset:
        yield from leaf_datasets(dataset['dataset'], f'{path}.dataset')
    elif 'datasets' in dataset:
        for i, child in enumerate(dataset['datasets']):
            yield from leaf_datasets(child, f'{path}.datasets.{i}')
    else:
        yield path, dataset


def tiny_scale(scale) -> tuple:
    """The Resize scale at :data:`IMG_SIZE` px instead of the paper's 600
    (a config's half scale stays half); tiny configs are kept."""
    if min(scale) < PAPER_SHORT_SIDE // 2:
        return tuple(scale)
    return tuple(max(1, round(s * IMG_SIZE / PAPER_SHORT_SIDE)) for s in scale)


def class_names(dataset: dict) -> tuple:
    """The dataset's classes: its metainfo's, or its type's defaults."""
    from mmkd.datasets import dataset_classes
    return dataset_classes(dataset)


def data_options(cfg: Config, root: str) -> dict:
    """Point every split at a tiny dataset in the config's format."""
    # One epoch, validated (schedules that validate from a later epoch on,
    # as the demo teacher's, are moved to it).
    opts = {
        'train_dataloader.batch_size': 2,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_begin': 1
    }
    for split in ('train', 'val'):
        loader = f'{split}_dataloader'
        opts.update({
            f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False
        })
        for path, dataset in leaf_datasets(cfg[loader]['dataset'],
                                           f'{loader}.dataset'):
            opts[f'{path}.data_root'] = root
            if dataset['type'] != 'VOCDataset':
                opts[f'{path}.ann_file'] = f'annotations/{split}.json'
                opts[f'{path}.data_prefix.img'] = 'images/'
            for i, step in enumerate(dataset['pipeline']):
                if step['type'] == 'Resize':
                    opts[f'{path}.pipeline.{i}.scale'] = tiny_scale(
                        step['scale'])
    if cfg.train_dataloader.dataset.type == 'RepeatDataset':
        opts['train_dataloader.dataset.times'] = 1  # one pass, one iter
    if 'ann_file' in cfg.val_evaluator:
        opts['val_evaluator.ann_file'] = osp.join(root, 'annotations',
                                                  'val.json')
    return opts


def write_tiny_data(cfg: Config, root: str) -> None:
    """A VOC tree for ``VOCDataset`` configs, COCO json otherwise."""
    [(_, dataset), *_] = leaf_datasets(cfg.train_dataloader.dataset, '')
    if dataset['type'] == 'VOCDataset':
        write_voc(root, class_names(dataset))
    else:
        write_coco(root, class_names(dataset))


def expected_losses(model: dict) -> set:
    """Loss keys of one step: hard terms and each enabled distill term (the
    configs' distilled students have one RoI stage)."""
    if not is_distiller(model):
        return hard_losses(model)
    assert model['student']['roi_head']['type'] != 'CascadeRoIHead'
    terms = {
        name
        for name, loss in model['distill_losses'].items() if loss is not None
    }
    return ({f'student.{k}'
             for k in hard_losses(model['student'])}
            | {f'distill.loss_{name}'
               for name in terms})


@pytest.mark.parametrize('config', [
    pytest.param(
        path,
        marks=pytest.mark.skipif(
            'synthetic' in path and not osp.isfile(SYNTHETIC_BASE),
            reason='configs/_base_/datasets/synthetic_coco.py is missing'))
    for path in CONFIGS
])
def test_config_trains_one_iteration(config, tmp_path, monkeypatch):
    from mmkd.engine.launch import build_runner

    # The Runner logs, dumps and checkpoints the config as yapf-formatted
    # text, 1-2 s a time for these configs; the unformatted text is as good.
    monkeypatch.setattr('mmengine.config.config.FormatCode',
                        lambda text, **kwargs: (text, None))
    monkeypatch.chdir(ROOT)  # teacher paths are relative to the repo root
    torch.manual_seed(0)
    cfg = Config.fromfile(config)
    model = cfg.model.to_dict()
    root = str(tmp_path / 'data') + '/'
    write_tiny_data(cfg, root)
    opts = data_options(cfg, root)
    opts.update(
        distiller_options(model) if is_distiller(model) else shrink_options(
            model, 'model.'))
    opts.update({
        'work_dir': str(tmp_path / 'work'),
        'default_hooks.logger.interval': 1,
    })
    cfg.merge_from_dict(opts)

    runner = build_runner(cfg)
    runner.train()

    assert runner.iter == 1
    logged = {
        key[len('train/'):]: value.current()
        for key, value in runner.message_hub.log_scalars.items()
        if key.startswith('train/') and 'loss' in key
    }
    wanted = expected_losses(model)
    assert wanted <= set(logged), sorted(set(wanted) - set(logged))
    if is_distiller(model):
        # only enabled terms are computed (RPN off for the half-size pair)
        assert {k
                for k in logged if k.startswith('distill.')
                } == {k
                      for k in wanted if k.startswith('distill.')}
    for key, value in logged.items():
        assert value == value and abs(value) != float('inf'), (key, value)
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))
    # the validation loop (pipeline, model.predict, evaluator) ran too
    assert 'val/time' in runner.message_hub.log_scalars
