# A quarter-width student: the same detector as the demo's teacher
# (frcnn_r18w32_synthetic.py) a quarter as wide (8 channels in the first
# ResNet stage, 0.25M parameters), trained alone on the generated dataset.
# The demo's student is twice as wide (frcnn_r18w16_synthetic.py): this one
# closes less of the gap (docs/reproduction.md).
_base_ = [
    '../_base_/models/faster_rcnn_r18_fpn_small.py',
    '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=64, num_classes=6)))
# Trained channels-last (ChannelsLastHook): 0.88x the step time on CPUs.
custom_hooks = _base_.custom_hooks + [dict(type='ChannelsLastHook')]
