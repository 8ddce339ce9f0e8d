# CWD on the zoo pair R101-FPN -> R50-FPN: frcnn_r101-fpn_r50-fpn_1x_coco.py
# (teacher and its checkpoint, student, data, schedule, the five hint levels
# P2-P6 and their adaptation layers, all inherited) with the CWD term of
# configs/_base_/distill/cwd.py (tau = 1, weight 10 per level) in place of
# the paper's five terms. MMRazor's config of the method distils the same
# levels without adaptation layers; here CWD runs on the adapters the other
# methods use, so that the comparison changes the loss only.
_base_ = ['./frcnn_r101-fpn_r50-fpn_1x_coco.py', '../../_base_/distill/cwd.py']
model = dict(distill_losses=dict(_delete_=True, **_base_.cwd.distill_losses))
