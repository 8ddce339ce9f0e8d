# A distilled Mask R-CNN student: mask_rcnn_r18w8_synthetic.py (same data,
# masks and schedule) distilled from mask_rcnn_r18w32_synthetic.py with the
# paper's terms (configs/_base_/distill/chen2017.py: RPN and box terms, hint)
# and the demo's hint weight (gamma = 16, chosen on validation for
# frcnn_r18w32_r18w8_synthetic.py, the same trunks and widths). The student's
# mask head trains on its own loss on its sampled positives; the mask
# distillation term (distill_losses.mask_kd) is off, as in chen2017.py
# (mask_rcnn_r18w32_r18w8_synthetic_mask_kd.py switches it on). Train the
# teacher first and pass
#   --cfg-options model.teacher_ckpt=work_dirs/<teacher>/epoch_N.pth
_base_ = [
    '../mask_rcnn/mask_rcnn_r18w8_synthetic.py',
    '../_base_/distill/chen2017.py'
]
model = dict(
    _delete_=True,
    **_base_.distiller,  # the paper's terms and weights
    student=_base_.model,
    teacher='configs/mask_rcnn/mask_rcnn_r18w32_synthetic.py',
    teacher_ckpt='work_dirs/mask_rcnn_r18w32_synthetic/epoch_8.pth',
    # Hint on FPN level 0 (stride 4) of both; 16 student channels mapped to
    # the teacher's 64 by a 1x1 adaptation layer (Sec. 3.3).
    adapters=[dict(type='HintAdapter', in_channels=16, out_channels=64)])
# The demo's hint weight (set in frcnn_r18w32_r18w8_synthetic.py, which the
# demo's frcnn_r18w32_r18w16_synthetic.py inherits): gamma = 16.
model['distill_losses'] = dict(
    model['distill_losses'],
    hint=dict(model['distill_losses']['hint'], loss_weight=16.0))
