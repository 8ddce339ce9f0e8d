# Ablation of the demo's distilled student: the teacher-bounded regression
# terms (Chen et al. 2017, Eq. 4-5) replaced by plain L2 distillation of the
# teacher's box deltas, with the same weight. Everything else as in
# frcnn_r18w32_r18w8_synthetic.py.
_base_ = ['./frcnn_r18w32_r18w8_synthetic.py']
model = dict(
    distill_losses=dict(
        rpn_reg=dict(_delete_=True, type='L2RegDistillLoss', loss_weight=0.5),
        rcn_reg=dict(_delete_=True, type='L2RegDistillLoss',
                     loss_weight=0.5)))
