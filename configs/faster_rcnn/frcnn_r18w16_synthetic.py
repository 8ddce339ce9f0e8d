# A student twice as wide as the demo's (16 channels in the first ResNet
# stage; the teacher has 32, the demo's student 8), trained alone on the
# generated dataset with the students' schedule. With
# configs/kd/frcnn_r18w32_r18w16_synthetic.py it measures how much of the
# teacher-student gap distillation closes for a student with more capacity
# (docs/reproduction.md, "The miniature reproduction").
_base_ = [
    '../_base_/models/faster_rcnn_r18_fpn_small.py',
    '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=128, num_classes=6)))
# Trained channels-last (ChannelsLastHook): 0.88x the step time on CPUs.
custom_hooks = _base_.custom_hooks + [dict(type='ChannelsLastHook')]
