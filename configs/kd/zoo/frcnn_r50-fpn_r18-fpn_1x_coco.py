# Distillation on MS-COCO 2017: Faster R-CNN R50-FPN (teacher, zoo box AP 37.4
# after 1x) -> R18-FPN (student). MMDetection has no 1x R18-FPN Faster R-CNN:
# the student is its R50-FPN config with a ResNet-18 trunk (ImageNet
# weights from torchvision, as the R50's). Everything else is
# frcnn_r101-fpn_r50-fpn_1x_coco.py (data, 1x schedule, the paper's terms,
# hints on P2-P6 with one 256 -> 256 adapter per level: the student's FPN
# keeps 256 output channels).
_base_ = './frcnn_r101-fpn_r50-fpn_1x_coco.py'
model = dict(
    student=dict(
        backbone=dict(
            depth=18,
            init_cfg=dict(
                type='Pretrained', checkpoint='torchvision://resnet18')),
        # ResNet-18's stages have 64-128-256-512 channels (BasicBlock).
        neck=dict(in_channels=[64, 128, 256, 512])),
    # MMDetection's config and model-zoo checkpoint:
    #   wget -P checkpoints/ https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_1x_coco/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth  # noqa: E501
    teacher='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_1x_coco/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth'  # noqa: E501
)
