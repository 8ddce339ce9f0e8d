# A Mask R-CNN student twice as wide as mask_rcnn_r18w8_synthetic.py (the
# widths of frcnn_r18w16_synthetic.py, 32 channels in the FPN and the mask
# branch), trained alone with the students' schedule.
_base_ = ['./mask_rcnn_r18w8_synthetic.py']
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=128),
        mask_roi_extractor=dict(out_channels=32),
        mask_head=dict(in_channels=32, conv_out_channels=32)))
