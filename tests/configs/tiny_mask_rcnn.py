# A tiny Mask R-CNN for the test suite: tiny_frcnn.py's trunk and heads with
# a one-conv mask branch 16 channels wide, on the generated dataset with its
# masks.
_base_ = [
    '../../configs/_base_/models/mask_rcnn_r18_fpn_small.py',
    '../../configs/_base_/datasets/synthetic_coco_instance.py',
    '../../configs/_base_/schedules/schedule_1x.py',
    '../../configs/_base_/default_runtime.py'
]
model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=6),
        mask_roi_extractor=dict(out_channels=16),
        mask_head=dict(
            num_convs=1, in_channels=16, conv_out_channels=16, num_classes=6)),
    test_cfg=dict(rcnn=dict(score_thr=0.0)))  # as tiny_frcnn.py
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=False)
default_hooks = dict(logger=dict(interval=1), visualization=dict(draw=False))
