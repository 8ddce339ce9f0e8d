# Distillation on MS-COCO 2017: VGG16 teacher -> Tucker student (Chen et al.,
# NIPS 2017, Table 1). The student is
# configs/faster_rcnn/frcnn_tucker_coco.py (data, schedule, initialisation);
# the teacher is frcnn_vgg16_coco.py. Train the teacher first:
#   python tools/train.py configs/faster_rcnn/frcnn_vgg16_coco.py
_base_ = [
    '../faster_rcnn/frcnn_tucker_coco.py',
    '../_base_/distill/chen2017.py'
]
model = dict(
    _delete_=True,
    type='TwoStageDistiller',
    student=_base_.model,
    # Paths are relative to the repository root (where the tools run).
    teacher='configs/faster_rcnn/frcnn_vgg16_coco.py',
    # The teacher's last checkpoint (12 epochs).
    teacher_ckpt='work_dirs/frcnn_vgg16_coco/epoch_12.pth',
    # mu, the weight of the hard (ground-truth) classification loss; the
    # soft term gets 1 - mu (Sec. 3.1). The paper does not give mu.
    hard_weight=0.5,
    # The paper's five terms and weights (Sec. 3, Eq. 1-6).
    distill_losses=_base_.paper_distill_losses,
    # Hint: conv5 of both trunks (C4 style: the only level of
    # extract_feat); both have stride 16, so the maps have the same size.
    hint_levels=[(0, 0)],
    # Tucker's conv5 has 256 channels, VGG16's 512: a 1x1
    # adaptation layer maps one to the other (Sec. 3.3).
    adapters=[
        dict(type='HintAdapter', in_channels=256, out_channels=512)
    ])
