# Faster R-CNN with a VGG-M trunk (Chatfield et al., BMVC 2014), a student
# of the paper: RPN and RoI head on conv5 (stride 16), fc6 / fc7 as
# `roi_head.bbox_head.shared_fcs.0/1`.
_base_ = './faster_rcnn_c4.py'
model = dict(
    # ImageNet VGG-M (the Caffe VGG_CNN_M model, converted to a PyTorch
    # state dict) as conv1-conv5 and fc6 / fc7, written by
    #   python tools/model_converters/pretrained_to_mmkd.py \
    #       vgg_cnn_m.pth checkpoints/vggm_mmkd.pth --arch vggm \
    #       --layout caffe
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vggm_mmkd.pth'),
    # Caffe weights expect BGR input with the ImageNet mean subtracted and
    # no scaling.
    data_preprocessor=dict(
        mean=[103.939, 116.779, 123.68],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        type='VGGM',
        # conv1 not fine-tuned (Girshick, ICCV 2015, Sec. 4.5: models S / M).
        frozen_stages=1,
        width_mult=1.0),
    rpn_head=dict(
        in_channels=512,  # conv5 channels
        feat_channels=256),  # rpn_conv/3x3 of VGG_CNN_M_1024 (py-faster-rcnn)
    roi_head=dict(
        # 6x6 RoI features: VGG-M's pool5 size (Chatfield et al., 2014).
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=6), out_channels=512),
        bbox_head=dict(
            in_channels=512,
            # VGG-M fc6 / fc7 width (py-faster-rcnn's VGG_CNN_M_1024 has a
            # 1024-wide fc7; the head has one width for both).
            fc_out_channels=4096,
            roi_feat_size=6)))
