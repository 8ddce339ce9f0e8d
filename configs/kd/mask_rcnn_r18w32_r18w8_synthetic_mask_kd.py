# mask_rcnn_r18w32_r18w8_synthetic.py with the mask distillation term on
# (beyond the paper; off in chen2017.py): on each positive RoI the student's
# mask logits of the ground-truth class learn the teacher's per-pixel
# probabilities (binary cross-entropy, T = 1, both outcomes weighted 1,
# added to the student's own mask loss with weight 1, as the mask loss is
# weighted in Mask R-CNN).
_base_ = ['./mask_rcnn_r18w32_r18w8_synthetic.py']
model = dict(
    distill_losses=dict(
        mask_kd=dict(
            type='WeightedKDLoss',
            use_sigmoid=True,
            fg_weight=1.0,
            bg_weight=1.0,
            T=1.0,
            loss_weight=1.0)))
