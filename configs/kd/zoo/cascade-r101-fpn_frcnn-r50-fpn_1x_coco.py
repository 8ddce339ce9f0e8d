# Distillation on MS-COCO 2017: Cascade R-CNN R101-FPN (teacher, zoo box AP
# 42.5 after its 20-epoch schedule) -> Faster R-CNN R50-FPN (student, 37.4
# trained alone for 1x): a stronger cascade teaching a plain, fast detector.
# Everything but the teacher is frcnn_r101-fpn_r50-fpn_1x_coco.py (student,
# data, schedule, the paper's terms, hints on P2-P6 with one 256 -> 256
# adapter per level: the cascade's trunk, FPN and RPN are Faster R-CNN's).
# What the cascade teaches the single-head student
# (mmkd/models/distillers/roi_seams/pairing.py): the soft targets are the
# cascade's test-time ensemble on the student's RoIs (the mean of its three
# stages' logits, each stage on the previous one's regressed boxes); the
# bounded regression takes stage 0, whose box coder (stds 0.1, 0.1, 0.2,
# 0.2) is the student's (its deltas are class-agnostic, the student's per
# class: each head's own layout is read).
# Name: the families differ, so each model's name carries its family.
_base_ = './frcnn_r101-fpn_r50-fpn_1x_coco.py'
model = dict(
    # MMDetection's config and model-zoo checkpoint:
    #   wget -P checkpoints/ https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/cascade_rcnn_r101_fpn_20e_coco/cascade_rcnn_r101_fpn_20e_coco_bbox_mAP-0.425_20200504_231812-5057dcc5.pth  # noqa: E501
    teacher='mmdet::cascade_rcnn/cascade-rcnn_r101_fpn_20e_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/cascade_rcnn_r101_fpn_20e_coco/cascade_rcnn_r101_fpn_20e_coco_bbox_mAP-0.425_20200504_231812-5057dcc5.pth'  # noqa: E501
)
