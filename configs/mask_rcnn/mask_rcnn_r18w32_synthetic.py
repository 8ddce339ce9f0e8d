# A Mask R-CNN teacher on the generated dataset with its instance masks: the
# demo teacher (frcnn_r18w32_synthetic.py: ResNet-18 at half width, FPN,
# the same RPN and box head) with MMDetection's mask branch
# (mask_rcnn_r18_fpn_small.py) as wide as its RoI features, trained for the
# teacher's schedule (8 epochs). Box and mask mAP on validation.
_base_ = [
    '../_base_/models/mask_rcnn_r18_fpn_small.py',
    '../_base_/datasets/synthetic_coco_instance.py',
    '../_base_/schedules/schedule_demo_teacher.py',
    '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=6),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=6)))
