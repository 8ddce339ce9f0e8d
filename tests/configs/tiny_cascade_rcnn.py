# A tiny Cascade R-CNN for the test suite: tiny_frcnn.py's trunk, FPN and RPN
# with the three-stage cascade RoI head of cascade_rcnn_r18_fpn_small.py,
# each stage's head as small as tiny_frcnn.py's.
_base_ = [
    '../../configs/_base_/models/cascade_rcnn_r18_fpn_small.py',
    '../../configs/_base_/datasets/synthetic_coco.py',
    '../../configs/_base_/schedules/schedule_1x.py',
    '../../configs/_base_/default_runtime.py'
]
model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=[
            dict(head, in_channels=16, fc_out_channels=32, num_classes=6)
            for head in _base_.model.roi_head.bbox_head
        ]),
    test_cfg=dict(rcnn=dict(score_thr=0.0)))  # as tiny_frcnn.py
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=1), visualization=dict(draw=False))
