# Faster R-CNN with a VGG-M trunk (Chatfield et al., BMVC 2014), a student
# of the paper: RPN and RoI head on conv5 (stride 16), fc6 / fc7 as
# `roi_head.bbox_head.shared_fcs.0/1`.
# VGG-M weights exist as Caffe models (VGG_CNN_M): convert them with
# pretrained_to_mmkd.py --arch vggm --layout caffe. Caffe models expect BGR
# mean-subtracted input with std 1: for them set data_preprocessor to
# mean=[103.939, 116.779, 123.68], std=[1., 1., 1.], bgr_to_rgb=False.
_base_ = './faster_rcnn_c4.py'
model = dict(
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
