"""ChannelsLastHook: the demo's detectors train channels-last; a model
with mmcv's RoIAlign, which would pool wrong numbers, is refused."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.engine.hooks import ChannelsLastHook
from mmkd.registry import MODELS
from mmkd.testing import ROOT

DEMO = f'{ROOT}/configs/faster_rcnn/frcnn_r18w8_synthetic.py'
C4 = f'{ROOT}/configs/faster_rcnn/frcnn_alexnet_voc.py'


def _model(config):
    init_default_scope('mmkd')
    cfg = Config.fromfile(config).model
    cfg.backbone.init_cfg = None
    return MODELS.build(cfg)


def test_weights_become_channels_last_and_stay_the_same_parameters():
    model = _model(DEMO)
    params = list(model.parameters())
    conv = model.backbone.conv1.weight
    assert not conv.is_contiguous(memory_format=torch.channels_last)
    ChannelsLastHook().before_train(SimpleNamespace(model=model))
    assert model.backbone.conv1.weight is conv  # the optimizer's object
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]


def test_mmcvs_roi_align_is_refused():
    model = _model(C4)
    with pytest.raises(
            ValueError,
            match="ChannelsLastHook: .*is mmcv's "
            'RoIAlign, which reads a channels-last map'):
        ChannelsLastHook().before_train(SimpleNamespace(model=model))
    assert not model.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)


def test_train_refuses_it_before_writing_anything(tiny_data, tmp_path):
    from mmkd.testing import TINY_CONFIG, data_options, load_tool
    config = tmp_path / 'tiny_mmcv_roi_align.py'
    config.write_text(f"_base_ = ['{TINY_CONFIG}']\n"
                      "custom_hooks = [dict(type='ChannelsLastHook')]\n")
    work_dir = tmp_path / 'work'
    with pytest.raises(SystemExit) as info:
        load_tool('train').main([
            str(config), '--work-dir',
            str(work_dir), '--cfg-options', *data_options(tiny_data),
            'model.roi_head.bbox_roi_extractor.roi_layer.type=RoIAlign'
        ])
    message = str(info.value)
    assert message.startswith(
        "error: ChannelsLastHook: roi_head.bbox_roi_extractor.roi_layers.0 "
        "is mmcv's RoIAlign, which reads a channels-last map")
    assert '\n' not in message
    assert not work_dir.exists()
