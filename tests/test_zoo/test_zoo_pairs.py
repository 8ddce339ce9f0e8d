"""The model-zoo pairs of configs/kd/zoo train one iteration on CPU.

Each config is loaded as tools/train.py loads it and changed only through
``--cfg-options``-style overrides: tiny COCO-format data at 64 px (boxes and
masks), and both detectors 8x narrower (``base_channels=8``, FPN and heads
16 wide, every cascade stage and mask head too, no ImageNet weights).
Depths, FPN levels, heads, cascade stages, anchors, the five hint levels
and the distillation terms stay the config's own; the teacher named as
``mmdet::...`` is read through mmkd's config names and shrunk the same way.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmkd.testing import ROOT
from mmkd.testing.tiny_datasets import write_coco

ZOO = osp.join(ROOT, 'configs', 'kd', 'zoo')
# (config, teacher trunk, teacher depth, student depth, keys of the step
# beyond the paper's five terms and a Faster R-CNN's own losses)
PAIRS = [
    ('frcnn_r101-fpn_r50-fpn_1x_coco.py', 'ResNet', 101, 50, set()),
    ('frcnn_x101-64x4d-fpn_r50-fpn_1x_coco.py', 'ResNeXt', 101, 50, set()),
    ('frcnn_r50-fpn_r18-fpn_1x_coco.py', 'ResNet', 50, 18, set()),
    ('mask-rcnn_r101-fpn_r50-fpn_1x_coco.py', 'ResNet', 101, 50,
     {'student.loss_mask'}),
    ('cascade-r101-fpn_frcnn-r50-fpn_1x_coco.py', 'ResNet', 101, 50, set()),
    ('cascade-rcnn_x101-64x4d-fpn_r50-fpn_1x_coco.py', 'ResNeXt', 101, 50, {
        f'{group}.s{i}.loss_{name}'
        for i in range(3)
        for group, name in (('student', 'cls'), ('student', 'bbox'),
                            ('distill', 'rcn_kd'), ('distill', 'rcn_reg'))
    }),
    # the R101 -> R50 pair with the later methods' terms
    ('frcnn_r101-fpn_r50-fpn_1x_coco_fitnets.py', 'ResNet', 101, 50, set()),
    ('frcnn_r101-fpn_r50-fpn_1x_coco_pkd.py', 'ResNet', 101, 50, set()),
    ('frcnn_r101-fpn_r50-fpn_1x_coco_cwd.py', 'ResNet', 101, 50, set()),
    ('frcnn_r101-fpn_r50-fpn_1x_coco_chen2017-pkd.py', 'ResNet', 101, 50,
     set()),
]
PAPER = ('rpn_kd', 'rpn_reg', 'rcn_kd', 'rcn_reg', 'hint')
# a config name's suffix -> the terms it trains (none: the paper's five)
METHOD_TERMS = {
    'fitnets': ('hint', ),
    'pkd': ('pkd', ),
    'cwd': ('cwd', ),
    'chen2017-pkd': PAPER + ('pkd', ),
}


def shrink_options(model: dict, prefix: str) -> dict:
    """Overrides that make a ResNet(-Xt) FPN Faster, Mask or Cascade R-CNN
    8x narrower."""
    backbone, roi_head = model['backbone'], model['roi_head']
    scale = 8 / backbone.get('base_channels', 64)
    opts = {
        f'{prefix}backbone.base_channels':
        8,
        f'{prefix}backbone.init_cfg':
        None,
        f'{prefix}neck.in_channels':
        [int(c * scale) for c in model['neck']['in_channels']],
        f'{prefix}neck.out_channels':
        16,
        f'{prefix}rpn_head.in_channels':
        16,
        f'{prefix}rpn_head.feat_channels':
        16,
        f'{prefix}roi_head.bbox_roi_extractor.out_channels':
        16,
    }
    heads = roi_head['bbox_head']
    stages = [f'.{i}'
              for i in range(len(heads))] if isinstance(heads, list) else ['']
    for stage in stages:
        opts.update({
            f'{prefix}roi_head.bbox_head{stage}.in_channels': 16,
            f'{prefix}roi_head.bbox_head{stage}.fc_out_channels': 32,
        })
    if roi_head.get('mask_head'):
        opts.update({
            f'{prefix}roi_head.mask_roi_extractor.out_channels': 16,
            f'{prefix}roi_head.mask_head.in_channels': 16,
            f'{prefix}roi_head.mask_head.conv_out_channels': 16,
        })
    if backbone['type'] == 'ResNeXt':
        opts[f'{prefix}backbone.groups'] = 4  # 16-wide grouped convs
    return opts


def data_options(cfg: Config, root: str, work_dir: str) -> dict:
    """Tiny COCO data at 64 px; one iteration of batch 2; logs each step."""
    opts = {
        'train_dataloader.batch_size': 2,
        'train_cfg.max_epochs': 1,
        'val_evaluator.ann_file': osp.join(root, 'annotations', 'val.json'),
        'work_dir': work_dir,
        'default_hooks.logger.interval': 1,
    }
    for split in ('train', 'val'):
        loader = f'{split}_dataloader'
        opts.update({
            f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False,
            f'{loader}.dataset.data_root': root,
            f'{loader}.dataset.ann_file': f'annotations/{split}.json',
            f'{loader}.dataset.data_prefix.img': 'images/',
        })
        for i, step in enumerate(cfg[loader].dataset.pipeline):
            if step['type'] == 'Resize':
                opts[f'{loader}.dataset.pipeline.{i}.scale'] = (64, 64)
    return opts


def zoo_options(cfg: Config) -> dict:
    """Shrink the student, its adapters and the (loaded) teacher."""
    from mmkd.models.distillers.teacher import teacher_config
    model = cfg.model
    opts = shrink_options(model.student, 'model.student.')
    opts.update({
        'model.adapters.in_channels': 16,
        'model.adapters.out_channels': 16,
        'model.teacher_ckpt': None,
        'model.random_teacher': True  # the mechanics, not the teacher
    })
    teacher = Config(dict(model=teacher_config(model.teacher).to_dict()))
    teacher.merge_from_dict(shrink_options(teacher.model, 'model.'))
    opts['model.teacher'] = dict(teacher.model.to_dict(), _delete_=True)
    return opts


@pytest.mark.parametrize('config,t_trunk,t_depth,s_depth,extra', PAIRS)
def test_zoo_pair_trains_one_iteration(config, t_trunk, t_depth, s_depth,
                                       extra, tmp_path, monkeypatch,
                                       one_thread):
    from mmdet.datasets import CocoDataset

    from mmkd.engine.launch import build_runner
    from mmkd.utils.config_paths import zoo_checkpoint_url

    # Dumping the config as yapf-formatted text takes seconds; skip it.
    monkeypatch.setattr('mmengine.config.config.FormatCode',
                        lambda text, **kwargs: (text, None))
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(ZOO, config))
    # the teacher checkpoint is the zoo's own for the teacher's config
    assert cfg.model.teacher.startswith('mmdet::')
    assert cfg.model.teacher_ckpt == zoo_checkpoint_url(cfg.model.teacher)
    root = str(tmp_path / 'data') + '/'
    write_coco(root, CocoDataset.METAINFO['classes'])
    cfg.merge_from_dict(data_options(cfg, root, str(tmp_path / 'work')))
    cfg.merge_from_dict(zoo_options(cfg))

    runner = build_runner(cfg)
    runner.train()

    model = runner.model
    assert type(model.teacher.backbone).__name__ == t_trunk
    assert model.teacher.backbone.depth == t_depth
    assert model.student.backbone.depth == s_depth
    assert model.hint_levels == [(i, i) for i in range(5)]  # P2-P6
    assert len(model.adapters) == 5
    logged = {
        key[len('train/'):]: value.current()
        for key, value in runner.message_hub.log_scalars.items()
        if key.startswith('train/')
    }
    stages = model.student_roi.num_stages
    suffix = config[:-len('.py')].split('_')[-1]
    terms = METHOD_TERMS.get(suffix, PAPER)
    keys = {f'distill.loss_{term}' for term in terms} | extra
    if stages > 1:  # the RoI terms per stage (in extra)
        keys -= {'distill.loss_rcn_kd', 'distill.loss_rcn_reg'}
    # exactly the config's terms
    assert {k
            for k in logged if k.startswith('distill.') and 'loss' in k
            } == {k
                  for k in keys if k.startswith('distill.')}
    assert keys <= set(logged), sorted(keys - set(logged))
    for key in keys:
        value = logged[key]
        assert value == value and abs(value) != float('inf'), (key, value)
    for term in {'hint', 'pkd', 'cwd'} & set(terms):
        assert logged[f'distill.loss_{term}'] > 0, term
    assert runner.iter == 1
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))


def test_get_flops_counts_one_adapter_per_level():
    """``adapters`` as one dict builds one adapter per hint level."""
    from mmengine.registry import init_default_scope

    from mmkd.testing import load_tool
    init_default_scope('mmkd')
    cfg = Config.fromfile(osp.join(ZOO, PAIRS[0][0]))
    # five 1x1 convs 256 -> 256 with bias
    assert load_tool('analysis_tools/get_flops').adapter_params(cfg) == \
        5 * (256 * 256 + 256)
