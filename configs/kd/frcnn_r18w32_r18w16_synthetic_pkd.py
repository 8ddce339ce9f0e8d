# The demo pair (frcnn_r18w32_r18w16_synthetic.py: teacher, student, hint
# level, adaptation layer, schedule and teacher checkpoint, all inherited)
# distilled with PKD (configs/_base_/distill/pkd.py): one minus the Pearson
# correlation of the adapted student map and the teacher map, weight 6, in
# place of the paper's five terms. The comparison of methods chooses each
# method's weight on the validation split
# (docs/user_guides/feature_distillation.md).
_base_ = ['./frcnn_r18w32_r18w16_synthetic.py', '../_base_/distill/pkd.py']
model = dict(distill_losses=dict(_delete_=True, **_base_.pkd.distill_losses))
