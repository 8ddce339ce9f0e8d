# FitNets on the zoo pair R101-FPN -> R50-FPN:
# frcnn_r101-fpn_r50-fpn_1x_coco.py (teacher and its checkpoint, student,
# data, schedule, the five hint levels P2-P6 and their adaptation layers, all
# inherited) with the hint alone (configs/_base_/distill/fitnets.py, gamma =
# 0.5 per level), the RPN and RoI terms off.
_base_ = [
    './frcnn_r101-fpn_r50-fpn_1x_coco.py', '../../_base_/distill/fitnets.py'
]
model = dict(
    distill_losses=dict(_delete_=True, **_base_.fitnets.distill_losses))
