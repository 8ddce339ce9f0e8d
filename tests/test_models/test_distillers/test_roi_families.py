"""Mask R-CNN and Cascade R-CNN students and teachers (``roi_seams``).

- No loss of the student is lost: with every term off, the distiller's
  ``student.*`` losses are MMDetection's own ``loss()`` of the same model
  on the same batch with the same random state (the samplers), for
  Faster, Mask and Cascade (Mask) students.
- A cascade teacher's soft targets for a single-head student are its
  test-time ensemble (MMDetection's ``CascadeRoIHead._refine_roi``), its
  bound the stage coded like the student; a cascade student learns stage
  i from stage i; a single-head teacher teaches stage 0 only.
- ``mask_kd`` against a hand-computed binary cross-entropy.
"""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.registry import MODELS
from mmkd.testing import MASK_KD, ROOT

init_default_scope('mmkd')
CONFIGS = f'{ROOT}/tests/configs'
PAPER = Config.fromfile(f'{CONFIGS}/tiny_kd.py').model.distill_losses
pytestmark = [pytest.mark.usefixtures('one_thread')]


def detector(name: str) -> dict:
    return Config.fromfile(f'{CONFIGS}/{name}.py').model


def cascade_mask(name: str) -> dict:
    """A tiny Cascade Mask R-CNN: the tiny cascade with a mask head."""
    model = detector(name)
    mask = detector(name.replace('cascade_rcnn', 'mask_rcnn'))['roi_head']
    model['type'] = 'CascadeRCNN'
    model['roi_head'].update(
        mask_roi_extractor=mask['mask_roi_extractor'],
        mask_head=mask['mask_head'])
    for stage in model['train_cfg']['rcnn']:
        stage['mask_size'] = 28
    model['test_cfg']['rcnn']['mask_thr_binary'] = 0.5
    return model


def distiller(student: dict, teacher: dict, losses: dict, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='TwoStageDistiller',
            student=student,
            teacher=teacher,
            teacher_ckpt=None,
            random_teacher=True,  # the data flow, not the teacher
            distill_losses=losses,
            adapters=[
                dict(
                    type='HintAdapter',
                    in_channels=student['neck']['out_channels'],
                    out_channels=teacher['neck']['out_channels'])
            ],
            **kwargs))


def batch(model, seed: int = 0):
    """Two 64 px images with 3 and 2 objects (boxes and masks)."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    data = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 64, 64)] * 2,
        num_items=[3, 2],
        num_classes=6,
        with_mask=True)
    data = model.data_preprocessor(data, True)
    return data['inputs'], data['data_samples']


def values(loss):
    return [
        float(v.detach()) for v in (loss if isinstance(loss, list) else [loss])
    ]


STUDENTS = {
    'faster': lambda: detector('tiny_frcnn'),
    'mask': lambda: detector('tiny_mask_rcnn'),
    'cascade': lambda: detector('tiny_cascade_rcnn'),
    'cascade_mask': lambda: cascade_mask('tiny_cascade_rcnn'),
}


@pytest.mark.parametrize('family', sorted(STUDENTS))
def test_no_student_loss_is_lost(family):
    student = STUDENTS[family]()
    model = distiller(student, detector('tiny_frcnn_teacher'), {})
    inputs, samples = batch(model)
    torch.manual_seed(7)
    ours = model.loss(inputs, samples)
    torch.manual_seed(7)  # the same anchor and RoI samples
    theirs = model.student.loss(inputs, copy.deepcopy(samples))
    assert set(ours) == {f'student.{k}' for k in theirs}
    for key, value in theirs.items():
        assert values(ours[f'student.{key}']) == pytest.approx(
            values(value), rel=1e-5, abs=1e-7), key
    if 'mask' in family:
        assert any('loss_mask' in key for key in ours)


@pytest.mark.parametrize('family', ['mask', 'cascade_mask'])
def test_with_every_term_on_the_student_keeps_its_own_losses(family):
    """Distillation only scales the hard classifications (RPN and RoI
    head) by mu; the student's box and mask losses are MMDetection's."""
    student = STUDENTS[family]()
    teacher = (
        detector('tiny_mask_rcnn_teacher')
        if family == 'mask' else cascade_mask('tiny_cascade_rcnn_teacher'))
    model = distiller(
        student, teacher, dict(PAPER, mask_kd=MASK_KD), hard_weight=0.25)
    inputs, samples = batch(model)
    torch.manual_seed(7)
    ours = model.loss(inputs, samples)
    torch.manual_seed(7)
    theirs = model.student.loss(inputs, copy.deepcopy(samples))
    for key, value in theirs.items():
        mine = values(ours[f'student.{key}'])
        mu = 0.25 if key.endswith(('loss_cls', 'loss_rpn_cls')) else 1.0
        assert mine == pytest.approx([mu * v for v in values(value)],
                                     rel=1e-5), key
    prefix = 'distill.s0.' if family == 'cascade_mask' else 'distill.'
    assert float(ours[f'{prefix}loss_mask_kd'].detach()) > 0


def _spy(module, name, calls):
    """Record the arguments (positional, then keyword values) and the
    output of ``module.name``."""
    original = getattr(module, name)

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append((args + tuple(kwargs.values()), out))
        return out

    setattr(module, name, spy)


def test_cascade_teacher_teaches_a_single_head_its_test_time_ensemble():
    """Soft targets: the mean of the cascade's stage logits, each stage on
    the previous stage's regressed boxes, exactly as MMDetection's
    ``CascadeRoIHead._refine_roi`` computes them at test time. Bound: the
    class-agnostic deltas of stage 0, whose coder is the student's."""
    model = distiller(
        detector('tiny_frcnn'), detector('tiny_cascade_rcnn_teacher'), PAPER)
    assert model.stage_teachers[0].cls == 'ensemble'
    assert model.stage_teachers[0].reg == 0
    s_calls, kd_calls, reg_calls, targets = [], [], [], []
    _spy(model.student.roi_head, '_bbox_forward', s_calls)
    _spy(model.student.roi_head.bbox_head, 'get_targets', targets)
    _spy(model.distill_losses['rcn_kd'], 'forward', kd_calls)
    _spy(model.distill_losses['rcn_reg'], 'forward', reg_calls)
    inputs, samples = batch(model)
    torch.manual_seed(7)
    model.loss(inputs, samples)
    [((_, rois), _)] = s_calls
    [((_, t_logits, *_), _)] = kd_calls
    [((_, t_reg, *_), _)] = reg_calls
    [(_, (labels, *_))] = targets
    with torch.no_grad():
        t_feats = model.teacher.extract_feat(inputs)
        counts = tuple(int((rois[:, 0] == i).sum()) for i in range(2))
        metas = [s.metainfo for s in samples]
        _, scores, _ = model.teacher.roi_head._refine_roi(
            t_feats, rois, metas, counts)
        stage0 = model.teacher.roi_head._bbox_forward(0, t_feats, rois)
    assert torch.allclose(t_logits, torch.cat(scores), atol=1e-6)
    # the stages disagree: the ensemble is not stage 0's logits
    assert not torch.allclose(t_logits, stage0['cls_score'], atol=1e-3)
    # the positives' class-agnostic deltas of stage 0 (the student's are
    # per class: each head picks its own layout)
    pos = labels < 6
    assert 0 < int(pos.sum()) and t_reg.shape == (int(pos.sum()), 4)
    assert torch.allclose(t_reg, stage0['bbox_pred'][pos], atol=1e-6)


def test_cascade_student_stage_i_learns_from_teacher_stage_i():
    """Each stage samples its own RoIs; the teacher's stage i runs on the
    student's stage-i RoIs; the stage's terms are weighted by the
    student's own stage_loss_weights, as its losses are."""
    model = distiller(
        detector('tiny_cascade_rcnn'), detector('tiny_cascade_rcnn_teacher'),
        PAPER)
    s_calls, t_calls, kd_calls = [], [], []
    _spy(model.student.roi_head, '_bbox_forward', s_calls)
    _spy(model.teacher.roi_head, '_bbox_forward', t_calls)
    _spy(model.distill_losses['rcn_kd'], 'forward', kd_calls)
    inputs, samples = batch(model)
    torch.manual_seed(7)
    losses = model.loss(inputs, samples)
    assert [args[0] for args, _ in s_calls] == [0, 1, 2]
    assert [args[0] for args, _ in t_calls] == [0, 1, 2]
    for (s_args, _), (t_args, _) in zip(s_calls, t_calls):
        assert torch.equal(s_args[2], t_args[2])  # the same RoIs
    # later stages sample from refined boxes: other RoIs
    assert not torch.equal(s_calls[0][0][2], s_calls[1][0][2])
    weights = model.student.roi_head.stage_loss_weights
    assert weights == [1, 0.5, 0.25]
    for stage, (_, raw) in enumerate(kd_calls):
        # soft share 1 - mu = 0.5, times the stage's weight
        term = float(losses[f'distill.s{stage}.loss_rcn_kd'].detach())
        raw = float(raw.detach())
        assert term == pytest.approx(0.5 * weights[stage] * raw)
    assert {k
            for k in losses if k.startswith('distill.s')} == {
                f'distill.s{i}.loss_{t}'
                for i in range(3)
                for t in ('rcn_kd', 'rcn_reg')
            }


def test_a_single_head_teacher_teaches_stage_0_of_a_cascade():
    model = distiller(
        detector('tiny_cascade_rcnn'), detector('tiny_frcnn_teacher'), PAPER)
    assert [p is None for p in model.stage_teachers] == [False, True, True]
    inputs, samples = batch(model)
    torch.manual_seed(7)
    ours = model.loss(inputs, samples)
    torch.manual_seed(7)
    theirs = model.student.loss(inputs, copy.deepcopy(samples))
    assert {k
            for k in ours if k.startswith('distill.s')
            } == {'distill.s0.loss_rcn_kd', 'distill.s0.loss_rcn_reg'}
    # mu scales stage 0's hard classification only
    assert float(ours['student.s0.loss_cls']) == pytest.approx(
        0.5 * float(theirs['s0.loss_cls']), rel=1e-5)
    for stage in (1, 2):
        assert float(ours[f'student.s{stage}.loss_cls']) == pytest.approx(
            float(theirs[f's{stage}.loss_cls']), rel=1e-5)


def test_the_bound_takes_the_cascade_stage_coded_like_the_student():
    student = detector('tiny_frcnn')
    student.roi_head.bbox_head.bbox_coder.target_stds = [0.05, 0.05, 0.1, 0.1]
    teacher = detector('tiny_cascade_rcnn_teacher')
    assert distiller(student, teacher, PAPER).stage_teachers[0].reg == 1
    student.roi_head.bbox_head.bbox_coder.target_stds = [0.2, 0.2, 0.2, 0.2]
    with pytest.raises(
            ValueError,
            match=r"no stage of the teacher's cascade encodes boxes as the "
            r"student's .*\(0\.2, 0\.2, 0\.2, 0\.2\).*\(0\.1, 0\.1, 0\.2, "
            r'0\.2\).*disable distill_losses.rcn_reg'):
        distiller(student, teacher, PAPER)
    # the soft targets alone need no coder
    distiller(student, teacher, dict(PAPER, rcn_reg=None))


def test_cascades_with_other_stage_counts_are_refused():
    teacher = detector('tiny_cascade_rcnn_teacher')
    teacher.roi_head.num_stages = 2
    teacher.roi_head.stage_loss_weights = [1, 0.5]
    teacher.roi_head.bbox_head = teacher.roi_head.bbox_head[:2]
    teacher.train_cfg.rcnn = teacher.train_cfg.rcnn[:2]
    with pytest.raises(
            ValueError,
            match="student's cascade has 3 stages and the teacher's 2"):
        distiller(detector('tiny_cascade_rcnn'), teacher, PAPER)


def test_mask_kd_by_hand_and_its_gradients():
    """mask_kd = mean over positives and pixels of
    -[p_t log p_s + (1 - p_t) log(1 - p_s)] on the ground-truth class's
    mask logits of both heads, on the student's positive RoIs; it reaches
    the student's mask head and not the teacher."""
    model = distiller(
        detector('tiny_mask_rcnn'), detector('tiny_mask_rcnn_teacher'),
        dict(mask_kd=MASK_KD))
    s_calls, t_calls = [], []
    _spy(model.student.roi_head, '_mask_forward', s_calls)
    _spy(model.teacher.roi_head, '_mask_forward', t_calls)
    gts = []
    _spy(model.student.roi_head.mask_head, 'get_targets', gts)
    inputs, samples = batch(model)
    torch.manual_seed(7)
    losses = model.loss(inputs, samples)
    [(s_args, s_out)] = s_calls
    [(t_args, t_out)] = t_calls
    assert torch.equal(s_args[1], t_args[1])  # the student's positives
    s_masks, t_masks = s_out['mask_preds'], t_out['mask_preds']
    assert s_masks.shape[1:] == (6, 28, 28)
    [((sampling_results, *_), _)] = gts
    labels = torch.cat([res.pos_gt_labels for res in sampling_results])
    rows = torch.arange(len(labels))
    s, t = s_masks[rows, labels].detach(), t_masks[rows, labels]
    p_t = t.sigmoid()
    expected = -(p_t * F.logsigmoid(s) + (1 - p_t) * F.logsigmoid(-s)).mean()
    assert float(losses['distill.loss_mask_kd']) == pytest.approx(
        float(expected), rel=1e-5)
    losses['distill.loss_mask_kd'].backward()
    grad = model.student.roi_head.mask_head.conv_logits.weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0
    assert all(p.grad is None for p in model.teacher.parameters())


@pytest.mark.parametrize('role', ['student', 'teacher'])
def test_mask_kd_without_a_mask_head_is_refused(role):
    student, teacher = detector('tiny_mask_rcnn'), detector(
        'tiny_mask_rcnn_teacher')
    if role == 'student':
        student = detector('tiny_frcnn')
    else:
        teacher = detector('tiny_frcnn_teacher')
    with pytest.raises(
            ValueError,
            match=f"mask_kd compares mask logits, but the {role}'s roi_head "
            'has no mask_head'):
        distiller(student, teacher, dict(mask_kd=MASK_KD))


def test_a_renamed_mmdetection_internal_names_the_seams_file(monkeypatch):
    """An MMDetection without ``CascadeRoIHead._bbox_forward`` breaks the
    cascade seam only, with one error naming its file."""
    from mmdet.models.roi_heads import CascadeRoIHead

    from mmkd.utils.errors import MMKDError
    monkeypatch.delattr(CascadeRoIHead, '_bbox_forward')
    with pytest.raises(MMKDError) as info:
        distiller(
            detector('tiny_frcnn'), detector('tiny_cascade_rcnn_teacher'),
            PAPER)
    message = str(info.value)
    assert message.startswith(
        'mmkd/models/distillers/roi_seams/cascade.py relies on '
        'CascadeRoIHead._bbox_forward, which MMDetection 3.3.0 does not '
        'have')
    # the other families are untouched
    distiller(detector('tiny_frcnn'), detector('tiny_frcnn_teacher'), PAPER)


@pytest.mark.parametrize('role, name, reason', [
    ('student', 'htc/htc_r50_fpn_1x_coco.py',
     "the student's roi_head is a HybridTaskCascadeRoIHead, which cannot be "
     'distilled: its stages pass mask features'),
    ('student', 'sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py',
     "the student's rpn_head is a EmbeddingRPNHead, which cannot be "
     "distilled: the RPN terms and the student's proposals need "
     "MMDetection's anchor-based RPNHead"),
    ('teacher', 'retinanet/retinanet_r18_fpn_1x_coco.py',
     'the teacher (RetinaNet) needs an RPN and a RoI head (a two-stage '
     'detector such as FasterRCNN): one-stage detectors have no RoIs'),
])
def test_families_that_cannot_be_distilled_are_refused_with_the_reason(
        role, name, reason):
    from mmkd.utils.config_paths import load_config_file
    from mmkd.utils.errors import ConfigError
    model = load_config_file(f'mmdet::{name}').model
    model.backbone.init_cfg = None
    student, teacher = detector('tiny_frcnn'), detector('tiny_frcnn_teacher')
    if role == 'student':
        student = model
    else:
        teacher = model
    with pytest.raises(ConfigError) as info:
        distiller(student, teacher, dict(rcn_kd=PAPER.rcn_kd))
    assert reason in str(info.value)


def test_a_refused_family_is_one_error_line_of_train(tiny_data, tmp_path):
    from mmkd.testing import data_options, load_tool
    config = tmp_path / 'kd_retinanet.py'
    config.write_text(
        f"_base_ = ['{CONFIGS}/tiny_kd.py']\n"
        "model = dict(teacher='mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',"
        # no checkpoint fits it: the family is refused before the weights
        ' random_teacher=True)\n')
    with pytest.raises(SystemExit) as info:
        load_tool('train').main([
            str(config), '--work-dir',
            str(tmp_path / 'work'), '--cfg-options', *data_options(tiny_data)
        ])
    message = str(info.value)
    assert message.startswith('error: TwoStageDistiller: the teacher '
                              '(RetinaNet) needs an RPN and a RoI head')
    assert '\n' not in message
