# The demo's Faster R-CNN student distilled by a Cascade R-CNN teacher:
# frcnn_r18w32_r18w16_synthetic.py (student, terms, weights, hint level and
# schedule) with the teacher of cascade_rcnn_r18w32_synthetic.py (the demo
# teacher's trunk, FPN and RPN under a three-stage cascade RoI head), to
# compare with the same student distilled by the Faster R-CNN teacher.
# What a cascade teaches a single-head student (mmkd/models/distillers/
# roi_seams/pairing.py): the soft targets are the cascade's test-time
# ensemble on the student's RoIs (the mean of the three stages' logits,
# each stage on the previous one's regressed boxes); the bounded
# regression takes stage 0, whose box coder (stds 0.1, 0.1, 0.2, 0.2) is
# the student's; RPN terms and hint as with the Faster R-CNN teacher (the
# same RPN and trunk).
_base_ = ['./frcnn_r18w32_r18w16_synthetic.py']
model = dict(
    teacher='configs/cascade_rcnn/cascade_rcnn_r18w32_synthetic.py',
    teacher_ckpt='work_dirs/cascade_rcnn_r18w32_synthetic/epoch_8.pth')
