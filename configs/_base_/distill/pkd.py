# PKD (Cao et al., "PKD: General Distillation Framework for Object Detectors
# via Pearson Correlation Coefficient", NeurIPS 2022): the adapted student
# map and the teacher map standardised per image and channel, and their MSE,
# one minus the Pearson correlation (mmkd.models.losses.PKDLoss). No RPN or
# RoI term. A config inherits this file beside a student baseline and uses
# its terms (see fitnets.py for the pattern and the variable's name):
#   model = dict(_delete_=True, **_base_.pkd, student=_base_.model, ...)
# or adds its term to the paper's five (Chen et al. + PKD):
#   model = dict(distill_losses=dict(pkd=_base_.pkd.distill_losses.pkd))
pkd = dict(
    type='TwoStageDistiller',
    distill_losses=dict(
        # Weight 6 per FPN level: MMRazor's Faster R-CNN R101 -> R50 config
        # of the method (pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py,
        # P2-P5). The loss is in [0, 2], about 1 for an untrained student.
        pkd=dict(type='PKDLoss', loss_weight=6.0)),
    hint_levels=[(0, 0)])
