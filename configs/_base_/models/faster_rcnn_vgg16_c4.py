# Faster R-CNN with a VGG16 trunk (Ren et al., NIPS 2015), the paper's
# teacher: RPN and RoI head on conv5_3 (stride 16), fc6 / fc7 as
# `roi_head.bbox_head.shared_fcs.0/1`.
_base_ = './faster_rcnn_c4.py'
model = dict(
    # ImageNet VGG16 (torchvision's vgg16-397923af.pth) as conv1_1-conv5_3
    # and fc6 / fc7 of the detector, written by
    #   python tools/model_converters/pretrained_to_mmkd.py \
    #       vgg16-397923af.pth checkpoints/vgg16_mmkd.pth --arch vgg16
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vgg16_mmkd.pth'),
    backbone=dict(
        type='VGG16',
        # conv1_x, conv2_x not fine-tuned (Girshick, ICCV 2015, Sec. 4.5).
        frozen_stages=2,
        width_mult=1.0),
    rpn_head=dict(
        in_channels=512,  # conv5_3 channels
        feat_channels=512),  # rpn_conv/3x3 of VGG16 (Ren et al., 2015)
    roi_head=dict(
        # 7x7 RoI features: VGG16's pool5 size, so ImageNet fc6 loads
        # unchanged (Girshick, 2015).
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=7), out_channels=512),
        bbox_head=dict(
            in_channels=512,
            fc_out_channels=4096,  # VGG16 fc6 / fc7 width
            roi_feat_size=7)))
