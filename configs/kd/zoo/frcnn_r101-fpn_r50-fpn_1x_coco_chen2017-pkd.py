# Chen et al. + PKD on the zoo pair R101-FPN -> R50-FPN: the paper's five
# terms of frcnn_r101-fpn_r50-fpn_1x_coco.py (everything inherited) plus the
# PKD term of configs/_base_/distill/pkd.py (weight 6 per level) on the same
# five hint levels and adaptation layers.
_base_ = ['./frcnn_r101-fpn_r50-fpn_1x_coco.py', '../../_base_/distill/pkd.py']
model = dict(distill_losses=dict(pkd=_base_.pkd.distill_losses.pkd))
