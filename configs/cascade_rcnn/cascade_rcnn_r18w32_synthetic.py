# A Cascade R-CNN teacher on the generated dataset: the demo teacher's trunk,
# FPN and RPN (frcnn_r18w32_synthetic.py: ResNet-18 at half width, 32
# channels in the first stage) with a three-stage cascade RoI head
# (cascade_rcnn_r18_fpn_small.py), each stage's head as wide as the demo
# teacher's, trained for the teacher's schedule (8 epochs). It teaches
# the demo's Faster R-CNN student in
# configs/kd/cascade_r18w32_frcnn_r18w16_synthetic.py.
_base_ = [
    '../_base_/models/cascade_rcnn_r18_fpn_small.py',
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
        bbox_head=[
            dict(head, in_channels=64, fc_out_channels=256, num_classes=6)
            for head in _base_.model.roi_head.bbox_head
        ]))
