# The quarter-width student (frcnn_r18w8_synthetic.py, same schedule)
# distilled from the demo's teacher (frcnn_r18w32_synthetic.py) with the
# paper's full objective and weights (configs/_base_/distill/chen2017.py).
# The demo's distillation config, frcnn_r18w32_r18w16_synthetic.py, is this
# one with a student twice as wide.
# tools/demo.py sets teacher_ckpt to the teacher it trained; by hand, train
# the teacher first and pass
#   --cfg-options model.teacher_ckpt=work_dirs/<teacher>/epoch_N.pth
_base_ = [
    '../faster_rcnn/frcnn_r18w8_synthetic.py',
    '../_base_/distill/chen2017.py'
]
model = dict(
    _delete_=True,
    **_base_.distiller,  # the paper's terms and weights
    student=_base_.model,
    teacher='configs/faster_rcnn/frcnn_r18w32_synthetic.py',
    teacher_ckpt='work_dirs/frcnn_r18w32_synthetic/epoch_8.pth',
    # Hint on FPN level 0 (stride 4) of both (hint_levels=[(0, 0)]); 16
    # student channels are mapped to the teacher's 64 by a 1x1 adaptation
    # layer (Sec. 3.3).
    adapters=[dict(type='HintAdapter', in_channels=16, out_channels=64)])
# The one deviation from the paper's weights (chen2017.py), chosen on the
# validation split (docs/reproduction.md, "Hint normalisation and weight"):
# hint weight gamma = 16. The hint is a relative error (1 for an all-zero
# student). At the paper's gamma the distilled student ends below the
# student trained alone; 32 scored higher on validation but diverged in the
# demo's --quick mode, and 64 diverged with seed 0: 16 is the largest weight
# that trained in every run.
model['distill_losses'] = dict(
    model['distill_losses'],
    hint=dict(model['distill_losses']['hint'], loss_weight=16.0))
