# Distillation on KITTI 2D detection: VGG-M teacher -> AlexNet student (Chen
# et al., NIPS 2017, Table 1). The student is
# configs/faster_rcnn/frcnn_alexnet_kitti.py (data, schedule,
# initialisation); the teacher is frcnn_vggm_kitti.py. Train the teacher
# first:
#   python tools/train.py configs/faster_rcnn/frcnn_vggm_kitti.py
_base_ = [
    '../faster_rcnn/frcnn_alexnet_kitti.py', '../_base_/distill/chen2017.py'
]
# The paper's terms and weights, its hint weight gamma included: not tuned
# for this pair (chen2017.py: what gamma multiplies, why it is kept, and how
# to choose it on the validation split).
model = dict(
    _delete_=True,
    **_base_.distiller,  # the paper's terms and weights, conv5 hints
    student=_base_.model,
    # Paths are relative to the repository root (where the tools run); the
    # teacher's last checkpoint (12 epochs).
    teacher='configs/faster_rcnn/frcnn_vggm_kitti.py',
    teacher_ckpt='work_dirs/frcnn_vggm_kitti/epoch_12.pth',
    # AlexNet's conv5 has 256 channels, VGG-M's 512: a 1x1
    # adaptation layer maps one to the other (Sec. 3.3).
    adapters=[dict(type='HintAdapter', in_channels=256, out_channels=512)])
