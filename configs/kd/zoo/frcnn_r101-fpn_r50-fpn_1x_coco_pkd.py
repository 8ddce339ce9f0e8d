# PKD on the zoo pair R101-FPN -> R50-FPN: frcnn_r101-fpn_r50-fpn_1x_coco.py
# (teacher and its checkpoint, student, data, schedule, the five hint levels
# P2-P6 and their adaptation layers, all inherited) with the PKD term of
# configs/_base_/distill/pkd.py (weight 6 per level) in place of the paper's
# five terms. MMRazor's config of the method distils P2-P5 without
# adaptation layers; here PKD runs on the levels and adapters the other
# methods use, so that the comparison changes the loss only.
_base_ = ['./frcnn_r101-fpn_r50-fpn_1x_coco.py', '../../_base_/distill/pkd.py']
model = dict(distill_losses=dict(_delete_=True, **_base_.pkd.distill_losses))
