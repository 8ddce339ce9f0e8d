# The paper's Tucker student: the AlexNet detector (faster_rcnn_alexnet_c4.py)
# with Tucker-2 decomposed conv2-conv5 (TuckerConv2d: 1x1 -> kxk core ->
# 1x1); fc6 / fc7 of the RoI head stay dense. Its weights come from a trained
# AlexNet detector decomposed by tools/model_converters/tucker_decompose.py
# (see configs/faster_rcnn/frcnn_tucker_coco.py); each dataset's config
# points init_cfg at its decomposed checkpoint.
_base_ = './faster_rcnn_alexnet_c4.py'
model = dict(
    backbone=dict(
        # Tucker-2 ranks (R_in, R_out) of conv2-conv5 (conv1, with 3 input
        # channels, is kept). Ours, not Kim et al.'s: R_in = C_in / 2 and
        # R_out ~ C_out / 3 (multiples of 32) of torchvision's AlexNet
        # (64-192-384-256-256 channels), 2.44M -> 0.68M conv parameters.
        tucker_ranks=dict(
            conv2=[32, 64], conv3=[96, 128], conv4=[192, 96],
            conv5=[128, 96])))
