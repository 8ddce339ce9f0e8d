# CWD (Shu et al., "Channel-Wise Knowledge Distillation for Dense
# Prediction", ICCV 2021): each channel of the adapted student map and of
# the teacher map made a distribution over positions by a softmax with
# temperature tau, and the KL divergence from the teacher's to the
# student's, times tau^2 (mmkd.models.losses.CWDLoss). No RPN or RoI term.
# A config inherits this file beside a student baseline and uses its terms
# (see fitnets.py for the pattern and the variable's name):
#   model = dict(_delete_=True, **_base_.cwd, student=_base_.model, ...)
cwd = dict(
    type='TwoStageDistiller',
    distill_losses=dict(
        # tau = 1 and weight 10 per FPN level: MMRazor's Faster R-CNN
        # R101 -> R50 config of the method (cwd_fpn_frcnn_r101_frcnn_r50_1x_
        # coco.py, P2-P6).
        cwd=dict(type='CWDLoss', tau=1.0, loss_weight=10.0)),
    hint_levels=[(0, 0)])
