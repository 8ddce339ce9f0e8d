# Distillation on MS-COCO 2017: Faster R-CNN X101-64x4d-FPN (teacher, zoo box
# AP 42.1 after 1x) -> R50-FPN (student, 37.4 trained alone for 1x). Everything
# but the teacher is frcnn_r101-fpn_r50-fpn_1x_coco.py (student, data,
# schedule, the paper's terms, hints on P2-P6 with one 256 -> 256 adapter per
# level: the ResNeXt teacher's FPN has 256 channels too).
_base_ = './frcnn_r101-fpn_r50-fpn_1x_coco.py'
model = dict(
    # MMDetection's config and model-zoo checkpoint:
    #   wget -P checkpoints/ https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_x101_64x4d_fpn_1x_coco/faster_rcnn_x101_64x4d_fpn_1x_coco_20200204-833ee192.pth  # noqa: E501
    teacher='mmdet::faster_rcnn/faster-rcnn_x101-64x4d_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_x101_64x4d_fpn_1x_coco/faster_rcnn_x101_64x4d_fpn_1x_coco_20200204-833ee192.pth'  # noqa: E501
)
