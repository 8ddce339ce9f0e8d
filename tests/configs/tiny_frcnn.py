# A tiny Faster R-CNN on the generated dataset, for the test suite: 64 px
# images, a ResNet-18 trunk 8 channels wide. Tests point data_root at the
# tiny dataset they generate and shorten the schedule with --cfg-options.
_base_ = [
    '../../configs/_base_/models/faster_rcnn_r18_fpn_small.py',
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
        bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=6)),
    # Keep every detection: a model trained for two iterations scores
    # below MMDetection's 0.05, and COCO evaluation of no detections
    # reports no metrics at all.
    test_cfg=dict(rcnn=dict(score_thr=0.0)))
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=False)  # lr 0.01 whatever the world size
default_hooks = dict(logger=dict(interval=1), visualization=dict(draw=False))
