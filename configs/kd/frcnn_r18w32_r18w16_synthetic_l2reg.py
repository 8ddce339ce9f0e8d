# Ablation of the demo's distilled student: the teacher-bounded regression
# terms (Chen et al. 2017, Eq. 4-5) replaced by plain L2 distillation of the
# teacher's box deltas, with the same weights (the bounded terms' of
# chen2017.py). Everything else as in frcnn_r18w32_r18w16_synthetic.py.
_base_ = ['./frcnn_r18w32_r18w16_synthetic.py']
model = dict(
    distill_losses=dict(
        rpn_reg=dict(
            _delete_=True,
            type='L2RegDistillLoss',
            loss_weight=_base_.model.distill_losses.rpn_reg.loss_weight),
        rcn_reg=dict(
            _delete_=True,
            type='L2RegDistillLoss',
            loss_weight=_base_.model.distill_losses.rcn_reg.loss_weight)))
