"""The paper configs train the paper's detector and schedule (Chen et al.,
NIPS 2017, on py-faster-rcnn's Faster R-CNN): what the config says, and the
learning rate a 4-GPU run actually gets."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

import mmkd  # noqa: F401
from mmkd.testing import ROOT

PAPER = [
    'configs/kd/frcnn_vgg16_alexnet_coco.py',
    'configs/kd/frcnn_vgg16_vggm_voc.py',
    'configs/kd/frcnn_alexnet_tucker_kitti.py',
    'configs/faster_rcnn/frcnn_vgg16_coco.py',
]


def _detector(cfg):
    return cfg.model.student if 'student' in cfg.model else cfg.model


@pytest.mark.parametrize('config', PAPER)
def test_the_papers_detector(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    model = _detector(cfg)
    rpn, roi = model.rpn_head, model.roi_head
    # smooth L1 (L_sL1) for the student's own regression: sigma 3 / 1
    assert rpn.loss_bbox == dict(
        type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)
    assert roi.bbox_head.loss_bbox == dict(
        type='SmoothL1Loss', beta=1.0, loss_weight=1.0)
    # RoI max pooling (RoIAlign in max mode without the half-pixel offset)
    layer = roi.bbox_roi_extractor.roi_layer
    assert (layer.type, layer.pool_mode, layer.aligned) == ('RoIAlign', 'max',
                                                            False)
    # dropout 0.5 after fc6 / fc7
    assert roi.bbox_head.type == 'Shared2FCDropoutBBoxHead'
    assert roi.bbox_head.dropout == 0.5
    # 128 RoIs per image; 12000 / 2000 training and 6000 / 300 test
    # proposals
    assert model.train_cfg.rcnn.sampler.num == 128
    proposals = model.train_cfg.rpn_proposal
    assert (proposals.nms_pre, proposals.max_per_img) == (12000, 2000)
    assert (model.test_cfg.rpn.nms_pre,
            model.test_cfg.rpn.max_per_img) == (6000, 300)
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.0005
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)


@pytest.mark.parametrize('config, lr', [
    ('configs/kd/frcnn_vgg16_alexnet_coco.py', 0.01),
    ('configs/kd/frcnn_vgg16_alexnet_voc.py', 0.005),
])
def test_four_gpus_train_at_the_rate_for_their_total_batch(config, lr):
    """tools/dist_train.sh CONFIG 4: 4 x 2 images = 8, half the base batch
    of 16; MMEngine's Runner.scale_lr with the config's auto_scale_lr."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    wrapper = OptimWrapper(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                        lr=cfg.optim_wrapper.optimizer.lr))
    runner = SimpleNamespace(
        _train_dataloader=cfg.train_dataloader,
        world_size=4,
        logger=MMLogger.get_current_instance(),
        param_schedulers=cfg.param_scheduler)
    Runner.scale_lr(runner, wrapper, cfg.auto_scale_lr)
    assert wrapper.get_lr()['lr'] == [pytest.approx(lr)]
