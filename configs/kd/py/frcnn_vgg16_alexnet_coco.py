# frcnn_vgg16_alexnet_coco.py (configs/kd/) in MMEngine's pure-Python style:
# the same distillation (VGG16 teacher -> AlexNet student on MS-COCO 2017,
# Chen et al., NIPS 2017, Table 1), the same built model, types as classes.
# The classic file is the primary one (docs/user_guides/configs_and_terms.md,
# "Config styles"); a test checks that both build the same model with the
# same loss configs. Bases are read
# with `read_base()`, which takes only pure-Python files, so the student's
# trunk (configs/_base_/models/faster_rcnn_alexnet_c4.py, classic) is
# spelled out below on the shared C4 base.
from mmengine.config import read_base

with read_base():
    from ..._base_.datasets.coco_detection import *  # noqa: F401,F403
    from ..._base_.default_runtime import *  # noqa: F401,F403
    from ..._base_.distill.chen2017 import *  # noqa: F401,F403
    from ..._base_.models.faster_rcnn_c4 import *  # noqa: F401,F403
    from ..._base_.schedules.schedule_1x import *  # noqa: F401,F403

from mmkd.models.backbones import AlexNet
from mmkd.models.distillers import TwoStageDistiller
from mmkd.models.necks import HintAdapter

# The student: AlexNet Faster R-CNN (configs/faster_rcnn/frcnn_alexnet_coco.py)
model.update(  # noqa: F405
    dict(
        backbone=dict(
            type=AlexNet,
            style='torchvision',  # torchvision's 64-192-384-256-256 layout
            frozen_stages=1,  # conv1 not fine-tuned (Girshick, 2015)
            width_mult=1.0),
        rpn_head=dict(in_channels=256, feat_channels=256),  # conv5
        roi_head=dict(
            # 6x6 RoI features: AlexNet's pool5, so ImageNet fc6 loads
            bbox_roi_extractor=dict(
                roi_layer=dict(output_size=6), out_channels=256),
            bbox_head=dict(
                in_channels=256,
                fc_out_channels=4096,  # AlexNet fc6 / fc7
                roi_feat_size=6,
                num_classes=80)),  # the 80 COCO classes
        # ImageNet AlexNet, written by
        #   python tools/model_converters/pretrained_to_mmkd.py \
        #       alexnet-owt-7be5be79.pth checkpoints/alexnet_mmkd.pth \
        #       --arch alexnet
        init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/alexnet_mmkd.pth')))
# The paper's terms and weights, its hint weight gamma included: not tuned
# for this pair (chen2017.py: what gamma multiplies, why it is kept, and how
# to choose it on the validation split).
model = dict(
    distiller,  # noqa: F405 - the paper's terms and weights, conv5 hints
    type=TwoStageDistiller,
    student=model,  # noqa: F405
    # Paths are relative to the repository root (where the tools run); the
    # teacher's last checkpoint (12 epochs).
    teacher='configs/faster_rcnn/frcnn_vgg16_coco.py',
    teacher_ckpt='work_dirs/frcnn_vgg16_coco/epoch_12.pth',
    # AlexNet's conv5 has 256 channels, VGG16's 512: a 1x1 adaptation layer
    # maps one to the other (Sec. 3.3).
    adapters=[dict(type=HintAdapter, in_channels=256, out_channels=512)])
