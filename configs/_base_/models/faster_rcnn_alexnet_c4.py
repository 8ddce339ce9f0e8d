# Faster R-CNN with an AlexNet trunk (torchvision layout 64-192-384-256-256),
# a student of the paper: RPN and RoI head on conv5 (stride 16), fc6 / fc7 as
# `roi_head.bbox_head.shared_fcs.0/1`.
_base_ = './faster_rcnn_c4.py'
model = dict(
    # ImageNet AlexNet (torchvision's alexnet-owt-7be5be79.pth) as
    # conv1-conv5 and fc6 / fc7 of the detector, written by
    #   python tools/model_converters/pretrained_to_mmkd.py \
    #       alexnet-owt-7be5be79.pth checkpoints/alexnet_mmkd.pth \
    #       --arch alexnet
    init_cfg=dict(
        type='Pretrained', checkpoint='checkpoints/alexnet_mmkd.pth'),
    backbone=dict(
        type='AlexNet',
        style='torchvision',  # 'caffe': the 96-256-384-384-256 BVLC model
        # conv1 not fine-tuned: "for models S and M we fine-tune layers conv2
        # and up" (Girshick, ICCV 2015, Sec. 4.5).
        frozen_stages=1,
        width_mult=1.0),
    rpn_head=dict(
        in_channels=256,  # conv5 channels
        feat_channels=256),  # rpn_conv/3x3 of ZF-size nets (Ren et al., 2015)
    roi_head=dict(
        # 6x6 RoI features: AlexNet's pool5 size, so ImageNet fc6 loads
        # unchanged (Fast R-CNN's CaffeNet model).
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=6), out_channels=256),
        bbox_head=dict(
            in_channels=256,
            fc_out_channels=4096,  # AlexNet fc6 / fc7 width
            roi_feat_size=6)))
