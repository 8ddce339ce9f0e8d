# mask_rcnn_r18w32_r18w8_synthetic.py (same teacher, terms, weights, hint
# level and schedule) with the student of mask_rcnn_r18w16_synthetic.py,
# twice as wide; its 32 FPN channels are mapped to the teacher's 64.
_base_ = ['./mask_rcnn_r18w32_r18w8_synthetic.py']
model = dict(
    student=dict(
        backbone=dict(base_channels=16),
        neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
        rpn_head=dict(in_channels=32, feat_channels=32),
        roi_head=dict(
            bbox_roi_extractor=dict(out_channels=32),
            bbox_head=dict(in_channels=32, fc_out_channels=128),
            mask_roi_extractor=dict(out_channels=32),
            mask_head=dict(in_channels=32, conv_out_channels=32))),
    adapters=[dict(type='HintAdapter', in_channels=32, out_channels=64)])
