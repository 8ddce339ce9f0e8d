# The demo pair (frcnn_r18w32_r18w16_synthetic.py: teacher, student, hint
# level, adaptation layer, schedule and teacher checkpoint, all inherited)
# distilled with FitNets (configs/_base_/distill/fitnets.py): the hint alone,
# the RPN and RoI terms off, with the published weight gamma = 0.5 (the demo
# pair's chen2017 config uses 16, chosen on validation for the full method).
# The comparison of methods chooses each method's weight on the validation
# split (docs/user_guides/feature_distillation.md).
_base_ = ['./frcnn_r18w32_r18w16_synthetic.py', '../_base_/distill/fitnets.py']
model = dict(
    distill_losses=dict(_delete_=True, **_base_.fitnets.distill_losses))
