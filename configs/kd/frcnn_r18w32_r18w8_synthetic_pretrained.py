# The quarter-width pair's distillation with pre-trained trunks: the student
# frcnn_r18w8_synthetic_pretrained.py distilled from the teacher
# frcnn_r18w32_synthetic_pretrained.py with the paper's terms and weights
# (chen2017.py; frcnn_r18w32_r18w8_synthetic.py, and the demo's
# frcnn_r18w32_r18w16_synthetic.py after it, raise the hint weight to 16). Both
# trunks come from tools/misc/pretrain_trunk.py (see the two configs). Measured
# in docs/reproduction.md ("Pre-trained trunks"): with a hint weight of 32 this
# pair diverged, so the demo trains from scratch.
_base_ = [
    '../faster_rcnn/frcnn_r18w8_synthetic_pretrained.py',
    '../_base_/distill/chen2017.py'
]
model = dict(
    _delete_=True,
    **_base_.distiller,  # the paper's terms and weights
    student=_base_.model,
    teacher='configs/faster_rcnn/frcnn_r18w32_synthetic_pretrained.py',
    teacher_ckpt='work_dirs/frcnn_r18w32_synthetic_pretrained/epoch_8.pth',
    # Hint on FPN level 0 (stride 4) of both (hint_levels=[(0, 0)]); 16
    # student channels are mapped to the teacher's 64 by a 1x1 adaptation
    # layer (Sec. 3.3).
    adapters=[dict(type='HintAdapter', in_channels=16, out_channels=64)])
