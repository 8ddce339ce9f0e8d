# The demo pair (frcnn_r18w32_r18w16_synthetic.py: teacher, student, hint
# level, adaptation layer, schedule and teacher checkpoint, all inherited)
# distilled with CWD (configs/_base_/distill/cwd.py): the channel-wise KL of
# spatial softmaxes (tau = 1), weight 10, in place of the paper's five terms.
# The comparison of methods chooses each method's weight on the validation
# split (docs/user_guides/feature_distillation.md).
_base_ = ['./frcnn_r18w32_r18w16_synthetic.py', '../_base_/distill/cwd.py']
model = dict(distill_losses=dict(_delete_=True, **_base_.cwd.distill_losses))
