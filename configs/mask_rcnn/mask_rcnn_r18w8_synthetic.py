# A Mask R-CNN student: the quarter-width Faster R-CNN student
# (frcnn_r18w8_synthetic.py, a quarter of the teacher's width) with the
# mask branch as wide as its RoI features (16 channels), trained alone on
# the generated dataset with its instance masks for the students' schedule
# (4 epochs).
_base_ = [
    '../_base_/models/mask_rcnn_r18_fpn_small.py',
    '../_base_/datasets/synthetic_coco_instance.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=64, num_classes=6),
        mask_roi_extractor=dict(out_channels=16),
        mask_head=dict(in_channels=16, conv_out_channels=16, num_classes=6)))
