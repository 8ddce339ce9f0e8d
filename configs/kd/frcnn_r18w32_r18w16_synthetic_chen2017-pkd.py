# The demo pair's distillation (frcnn_r18w32_r18w16_synthetic.py: the paper's
# five terms with the demo's hint weight, everything else inherited) plus the
# PKD term of configs/_base_/distill/pkd.py (weight 6) on the same hint level
# and adaptation layer: Chen et al. + PKD.
_base_ = ['./frcnn_r18w32_r18w16_synthetic.py', '../_base_/distill/pkd.py']
model = dict(distill_losses=dict(pkd=_base_.pkd.distill_losses.pkd))
