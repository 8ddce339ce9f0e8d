# Distillation of the tiny student (tiny_frcnn.py) from the tiny teacher
# (tiny_frcnn_teacher.py) with the paper's terms and weights. Tests set
# model.teacher_ckpt with --cfg-options.
_base_ = ['./tiny_frcnn.py', '../../configs/_base_/distill/chen2017.py']
model = dict(
    _delete_=True,
    **_base_.distiller,
    student=_base_.model,
    teacher='tests/configs/tiny_frcnn_teacher.py',
    teacher_ckpt=None,
    # FPN level 0 (stride 4) of both; the student has 16 channels, the
    # teacher 32, so a 1x1 adaptation layer maps one to the other.
    adapters=[dict(type='HintAdapter', in_channels=16, out_channels=32)])
