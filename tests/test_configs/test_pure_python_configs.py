"""The pure-Python twins of configs/kd/py (MMEngine's ``read_base()`` style,
types as classes) describe the same runs as their classic originals, and
the tools take them as they take classic configs."""
import glob
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.models.distillers.export import is_distiller
from mmkd.registry import MODELS
from mmkd.testing import (PYTHON, ROOT, data_options, free_port, load_tool,
                          run_tool)

TWINS = ['frcnn_vgg16_alexnet_coco', 'frcnn_r18w32_r18w8_synthetic']


def classic(name: str) -> Config:
    return Config.fromfile(osp.join(ROOT, 'configs', 'kd', f'{name}.py'))


def pure(name: str) -> Config:
    return Config.fromfile(osp.join(ROOT, 'configs', 'kd', 'py', f'{name}.py'))


def by_name(node):
    """``node`` with every ``type`` (a class, its import path or a registry
    name) reduced to the class name, tuples as lists."""
    if isinstance(node, dict):
        out = {k: by_name(v) for k, v in node.items()}
        if 'type' in out:
            name = getattr(out['type'], '__name__', out['type'])
            out['type'] = name.split('.')[-1]
        return out
    if isinstance(node, (list, tuple)):
        return [by_name(v) for v in node]
    return node


@pytest.mark.parametrize('name', TWINS)
def test_twin_is_the_same_config(name):
    a, b = classic(name), pure(name)
    assert b.model.type.__name__ == 'TwoStageDistiller'  # a class
    # the tools' test for a distiller: a class, or its import path as
    # MMEngine dumps a pure-Python config
    assert is_distiller(b.model)
    assert b.to_dict()['model']['type'] == \
        'mmkd.models.distillers.TwoStageDistiller'
    assert is_distiller(b.to_dict()['model'])
    # every key, data, schedule, runtime and the distillation terms
    assert by_name(a.to_dict()) == by_name(b.to_dict())


def _modules(model) -> dict:
    """What was built: parameter and buffer shapes, module classes and the
    settings of each distillation term."""
    losses = {
        name: (type(loss).__name__, {
            k: v
            for k, v in vars(loss).items()
            if isinstance(v, (int, float, str, bool))
        })
        for name, loss in model.distill_losses.items()
    }
    return dict(
        shapes={
            k: tuple(v.shape)
            for k, v in model.state_dict().items()
        },
        classes={
            k: type(m).__name__
            for k, m in model.named_modules()
        },
        losses=losses,
        hint_levels=model.hint_levels,
        hard_weight=model.hard_weight)


@pytest.mark.parametrize('name', TWINS)
def test_twin_builds_the_same_model(name):
    init_default_scope('mmkd')
    built = []
    for cfg in (classic(name), pure(name)):
        cfg.model.eval_only = True  # student, adapters and terms
        built.append(_modules(MODELS.build(cfg.model)))
    assert built[0] == built[1]
    assert set(built[0]['losses']) == {
        'rpn_kd', 'rpn_reg', 'rcn_kd', 'rcn_reg', 'hint'
    }
    assert built[0]['losses']['rcn_kd'][1]['bg_weight'] == 1.5


def _scalars(work_dir):
    [path] = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_pure_python_config_through_the_tools(tiny_data, tmp_path):
    """dist_train.sh (torchrun, gloo, DDP-wrapped; one process: the
    two-process mechanics are tested on a classic config) with
    --cfg-options, then test.py."""
    config = osp.join(ROOT, 'configs', 'kd', 'py', f'{TWINS[1]}.py')
    work_dir = str(tmp_path / 'dist')
    options = [
        *data_options(tiny_data), 'model.teacher_ckpt=None',
        'model.random_teacher=True'
    ]
    run_tool([
        'bash', 'tools/dist_train.sh', config, '1', '--work-dir', work_dir,
        '--cfg-options', *options, 'default_hooks.logger.interval=1',
        'train_cfg.max_epochs=1', 'model.hard_weight=0.75'
    ],
             env={
                 'PORT': free_port(),
                 'PYTHON': PYTHON
             })
    lines = [x for x in _scalars(work_dir) if 'loss' in x]
    # 4 images, batch 2: 2 iterations; every term trains
    assert [x['iter'] for x in lines] == [1, 2]
    assert all('distill.loss_hint' in x for x in lines)
    [dumped] = glob.glob(osp.join(work_dir, '*.py'))
    assert Config.fromfile(dumped).model.hard_weight == 0.75
    metrics = load_tool('test').main([
        config,
        osp.join(work_dir, 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *options
    ])
    assert 'coco/bbox_mAP' in metrics
