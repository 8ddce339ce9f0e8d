"""tools/misc/make_kd_config.py: the written config trains, matches the
hand-written zoo pair, switches off the terms a pair cannot use and
refuses pairs that cannot be distilled."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.registry import MODELS
from mmkd.testing import ROOT, data_options, load_tool

TEACHER = osp.join(ROOT, 'tests', 'configs', 'tiny_frcnn_teacher.py')
STUDENT = osp.join(ROOT, 'tests', 'configs', 'tiny_frcnn.py')
CHEN2017 = osp.join(ROOT, 'configs', '_base_', 'distill', 'chen2017.py')


def make(*argv):
    return load_tool('misc/make_kd_config').main([str(a) for a in argv])


def student_variant(tmp_path, name: str, model: dict = None, **top) -> str:
    """A config file: the tiny student with ``model`` overrides."""
    path = tmp_path / f'{name}.py'
    lines = [f'_base_ = [{STUDENT!r}]', f'model = {model or {}!r}']
    lines += [f'{key} = {value!r}' for key, value in top.items()]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_written_config_trains_one_step(tmp_path, tiny_data, tiny_teacher):
    out = tmp_path / 'kd.py'
    make(TEACHER, STUDENT, '--teacher-ckpt', tiny_teacher, '--out', out)
    model = Config.fromfile(out).model
    # tiny FPNs: 4 levels (strides 4-32), 16 student and 32 teacher channels
    assert model.hint_levels == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert model.adapters == [
        dict(type='HintAdapter', in_channels=16, out_channels=32)
    ] * 4
    assert model.distill_losses == Config.fromfile(
        CHEN2017).distiller.distill_losses  # the paper's five terms
    assert model.teacher == TEACHER and model.teacher_ckpt == tiny_teacher
    work_dir = str(tmp_path / 'work')
    load_tool('train').main([
        str(out),
        '--work-dir',
        work_dir,
        '--cfg-options',
        *data_options(tiny_data),
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=4'  # one step
    ])
    [log] = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(log) as f:
        first = json.loads(f.readline())
    assert first['iter'] == 1
    for term in ('rpn_kd', 'rpn_reg', 'rcn_kd', 'rcn_reg', 'hint'):
        assert first[f'distill.loss_{term}'] >= 0, term


def _by_level(cfg: dict) -> dict:
    """``adapters`` as one dict per hint level."""
    model = cfg['model']
    if isinstance(model['adapters'], dict):
        model['adapters'] = [model['adapters']] * len(model['hint_levels'])
    return cfg


@pytest.mark.parametrize('teacher, student, hand', [
    ('faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
     'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
     'frcnn_r101-fpn_r50-fpn_1x_coco.py'),
    ('mask_rcnn/mask-rcnn_r101_fpn_2x_coco.py',
     'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
     'mask-rcnn_r101-fpn_r50-fpn_1x_coco.py'),
    ('cascade_rcnn/cascade-rcnn_r101_fpn_20e_coco.py',
     'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
     'cascade-r101-fpn_frcnn-r50-fpn_1x_coco.py'),
    ('cascade_rcnn/cascade-rcnn_x101-64x4d_fpn_1x_coco.py',
     'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
     'cascade-rcnn_x101-64x4d-fpn_r50-fpn_1x_coco.py'),
])
def test_zoo_pair_is_the_hand_written_config(teacher, student, hand, tmp_path):
    out = tmp_path / 'kd.py'
    make(f'mmdet::{teacher}', f'mmdet::{student}', '--out', out)
    written = Config.fromfile(out).to_dict()
    hand = Config.fromfile(osp.join(ROOT, 'configs/kd/zoo', hand))
    assert _by_level(written) == _by_level(hand.to_dict())
    # the comments' words, without their line breaks
    text = ' '.join(line.strip().lstrip('#').strip()
                    for line in out.read_text().splitlines())
    if 'cascade' in teacher:  # the choices for these families
        assert ("Note: the teacher's RoI head is a 3-stage cascade and the "
                "student's a single head: the soft targets are the cascade's "
                'test-time ensemble' in text) == ('faster' in student)
        assert ("Note: the student's RoI head is a 3-stage cascade: stage i "
                "samples its own RoIs and learns from the teacher's stage i"
                in text) == ('cascade' in student)
    if 'mask' in student:
        assert "Note: the student's mask head trains on its own loss" in text


@pytest.mark.parametrize('teacher, student, stages', [
    ('tiny_mask_rcnn_teacher', 'tiny_mask_rcnn', 1),
    ('tiny_cascade_rcnn_teacher', 'tiny_frcnn', 1),
    ('tiny_cascade_rcnn_teacher', 'tiny_cascade_rcnn', 3),
])
def test_written_config_of_other_families_takes_a_step(teacher, student,
                                                       stages, tmp_path,
                                                       one_thread):
    """The generator writes Mask R-CNN, cascade -> Faster R-CNN and
    cascade -> cascade pairs; each written config builds and takes a
    training step with the paper's five terms and every student loss."""
    from mmdet.testing import demo_mm_inputs
    from mmengine.optim import OptimWrapper
    out = tmp_path / 'kd.py'
    make(f'{ROOT}/tests/configs/{teacher}.py',
         f'{ROOT}/tests/configs/{student}.py', '--out', out)
    cfg = Config.fromfile(out)
    assert cfg.model.distill_losses == Config.fromfile(
        CHEN2017).distiller.distill_losses
    cfg.model.teacher_ckpt, cfg.model.random_teacher = None, True
    init_default_scope('mmkd')
    model = MODELS.build(cfg.model)
    assert model.student_roi.num_stages == stages
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    torch.manual_seed(0)
    data = demo_mm_inputs(
        2, [(3, 64, 64)] * 2, num_items=[3, 2], num_classes=6, with_mask=True)
    log = model.train_step(data, optim)
    roi = {'rcn_kd', 'rcn_reg'}
    prefixes = [f's{i}.' for i in range(stages)] if stages > 1 else ['']
    for term in ('rpn_kd', 'rpn_reg', 'hint'):
        assert log[f'distill.loss_{term}'] >= 0, term
    for prefix in prefixes:
        for term in roi:
            assert log[f'distill.{prefix}loss_{term}'] >= 0, term
        for loss in ('loss_cls', 'loss_bbox'):
            assert f'student.{prefix}{loss}' in log
    assert ('student.loss_mask' in log) == ('mask' in student)


def test_terms_a_pair_cannot_use_are_switched_off(tmp_path, tiny_teacher):
    student = student_variant(
        tmp_path, 'other_coding',
        dict(
            data_preprocessor=dict(mean=[0, 0, 0], std=[255, 255, 255]),
            rpn_head=dict(anchor_generator=dict(scales=[8])),
            roi_head=dict(
                bbox_head=dict(
                    bbox_coder=dict(target_stds=[0.2, 0.2, 0.2, 0.2])))))
    out = tmp_path / 'kd.py'
    make(TEACHER, student, '--teacher-ckpt', tiny_teacher, '--out', out)
    text = out.read_text()
    assert '# rpn_kd, rpn_reg off: the RPNs use different anchors' in text
    assert '# rcn_reg off: the RoI heads encode boxes differently' in text
    assert '# Note: the two normalise images differently' in text
    cfg = Config.fromfile(out)
    init_default_scope('mmkd')
    model = MODELS.build(cfg.model)
    assert set(model.distill_losses) == {'rcn_kd', 'hint'}


def test_hint_levels_given(tmp_path, tiny_teacher):
    out = tmp_path / 'kd.py'
    # student stride 4 -> teacher stride 8: the hint resizes the student map
    make(TEACHER, STUDENT, '--hint-levels', '0:1', '--teacher-ckpt',
         tiny_teacher, '--out', out)
    model = Config.fromfile(out).model
    assert model.hint_levels == [(0, 1)]
    assert model.adapters == [
        dict(type='HintAdapter', in_channels=16, out_channels=32)
    ]
    for spec, reason in (('0-1', "--hint-levels '0-1': give auto or"),
                         ('0:4', 'has no level 4; its levels are 0-3')):
        with pytest.raises(SystemExit, match=reason):
            make(TEACHER, STUDENT, '--hint-levels', spec, '--out',
                 tmp_path / 'other.py')


@pytest.mark.parametrize('case', ['classes', 'names', 'one_stage', 'kd'])
def test_pairs_that_cannot_be_distilled_are_refused(case, tmp_path):
    teacher, student = TEACHER, STUDENT
    if case == 'classes':
        student = student_variant(
            tmp_path, 'five',
            dict(roi_head=dict(bbox_head=dict(num_classes=5))))
        reason = 'the teacher has 6 classes, the student 5'
    elif case == 'names':
        classes = Config.fromfile(STUDENT).metainfo['classes'][::-1]
        student = student_variant(
            tmp_path,
            'reversed',
            train_dataloader=dict(
                dataset=dict(metainfo=dict(classes=classes))))
        reason = ("their datasets name the classes differently (class 0: "
                  "teacher 'disc', student 'vstriped_triangle')")
    elif case == 'one_stage':
        teacher = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
        reason = 'is a RetinaNet: the method needs a two-stage detector'
    else:
        student = osp.join(ROOT, 'tests', 'configs', 'tiny_kd.py')
        reason = 'is a distillation config; give the config of the student'
    out = tmp_path / 'kd.py'
    with pytest.raises(SystemExit) as info:
        make(teacher, student, '--out', out)
    message = str(info.value)
    assert message.startswith('error: ') and '\n' not in message
    assert reason in message
    assert not out.exists()


def test_existing_out_is_not_overwritten(tmp_path):
    out = tmp_path / 'kd.py'
    out.write_text('# a config of the user\n')
    with pytest.raises(SystemExit) as info:
        make(TEACHER, STUDENT, '--out', out)
    assert str(info.value) == (
        f"error: --out {str(out)!r} exists; pass --force to overwrite it or "
        'choose another --out')
    assert out.read_text() == '# a config of the user\n'


def test_a_teacher_smaller_than_its_student_is_asked_for(
        tmp_path, tiny_teacher, capsys):
    """The tiny pair in the wrong order: refused, naming both sizes; with
    --allow-smaller-teacher written, with a warning line and a comment."""
    init_default_scope('mmkd')
    sizes = [
        sum(p.numel()
            for p in MODELS.build(Config.fromfile(c).model).parameters()) / 1e6
        for c in (STUDENT, TEACHER)
    ]
    assert sizes[0] < sizes[1]
    out = tmp_path / 'kd.py'
    with pytest.raises(SystemExit) as info:
        make(STUDENT, TEACHER, '--out', out)
    assert str(info.value) == (
        f'error: cannot distil {STUDENT} into {TEACHER}: the teacher has '
        f"{sizes[0]:.2f}M parameters, fewer than the student's "
        f'{sizes[1]:.2f}M; the method distils a larger teacher into a '
        'smaller student: if TEACHER and STUDENT are in the wrong order, '
        'swap them; to distil a smaller teacher anyway, pass '
        '--allow-smaller-teacher')
    assert not out.exists()
    make(STUDENT, TEACHER, '--teacher-ckpt', tiny_teacher, '--out', out,
         '--allow-smaller-teacher')
    note = (f'the teacher has {sizes[0]:.2f}M parameters, fewer than the '
            f"student's {sizes[1]:.2f}M (--allow-smaller-teacher)")
    assert capsys.readouterr().err == f'warning: {note}\n'
    comments = ' '.join(line.strip()[2:]
                        for line in out.read_text().splitlines()
                        if line.strip().startswith('# '))
    assert f'Note: {note}.' in comments


# ------------------------------------------------------------- --method
# relative to the repository root, as the demo's configs name the teacher
DEMO_TEACHER = 'configs/faster_rcnn/frcnn_r18w32_synthetic.py'
DEMO_STUDENT = 'configs/faster_rcnn/frcnn_r18w16_synthetic.py'
ZOO = osp.join(ROOT, 'configs/kd/zoo/frcnn_r101-fpn_r50-fpn_1x_coco.py')
# --method -> the distillation terms of its configs
METHOD_TERMS = {
    'fitnets': {'hint'},
    'pkd': {'pkd'},
    'cwd': {'cwd'},
    'chen2017+pkd': {'rpn_kd', 'rpn_reg', 'rcn_kd', 'rcn_reg', 'hint', 'pkd'},
}


def _model(path) -> dict:
    """The model of a config, without ``hard_weight``: a feature method's
    base leaves it out, a config inheriting chen2017.py keeps its 0.5, and
    without a soft term it weighs nothing."""
    model = _by_level(dict(model=Config.fromfile(path).model.to_dict()))
    model['model'].pop('hard_weight', None)
    return model['model']


@pytest.fixture(scope='module')
def zoo_plan():
    """The decisions for the zoo pair R101-FPN -> R50-FPN (building and
    probing the two detectors takes seconds: once for every method)."""
    from mmkd.zoo import plan_distillation
    return plan_distillation(
        'mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
        'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')


@pytest.mark.parametrize('method', sorted(METHOD_TERMS))
def test_method_configs_are_the_hand_written_ones(method, zoo_plan, tmp_path,
                                                  monkeypatch):
    """The zoo pair's config of each method is the hand-written one in
    configs/kd/zoo; the demo pair's (written by the tool from the
    baselines, hint level 0) the one in configs/kd, except chen2017's hint
    weight, which the demo's config sets to the 16 chosen on validation."""
    import dataclasses

    from mmkd.zoo import render_config
    suffix = method.replace('+', '-')
    out = tmp_path / 'zoo.py'
    out.write_text(
        render_config(dataclasses.replace(zoo_plan, method=method), out))
    hand = ZOO.replace('.py', f'_{suffix}.py')
    assert _model(out) == _model(hand)
    assert set(_model(out)['distill_losses']) == METHOD_TERMS[method]
    out = tmp_path / 'demo.py'
    monkeypatch.chdir(ROOT)
    make(DEMO_TEACHER, DEMO_STUDENT, '--method', method, '--hint-levels',
         '0:0', '--out', out)
    hand = _model(
        osp.join(ROOT, 'configs', 'kd',
                 f'frcnn_r18w32_r18w16_synthetic_{suffix}.py'))
    if method == 'chen2017+pkd':
        hand['distill_losses']['hint']['loss_weight'] = 0.5
    assert _model(out) == hand


@pytest.mark.parametrize('method', sorted(METHOD_TERMS))
def test_method_config_takes_a_step(method, tmp_path):
    """The written config of the tiny pair builds and takes one step with
    exactly its method's terms; the base files it names are inherited."""
    import torch

    from mmkd.testing import distiller_batch
    out = tmp_path / 'kd.py'
    make(TEACHER, STUDENT, '--method', method, '--hint-levels', '0:0,1:1',
         '--out', out)
    text = out.read_text()
    for name in ('chen2017', 'fitnets', 'pkd', 'cwd'):
        in_base = f'_base_/distill/{name}.py' in text
        assert in_base == (name in method), name
    cfg = Config.fromfile(out)
    cfg.model.teacher_ckpt, cfg.model.random_teacher = None, True
    init_default_scope('mmkd')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert set(model.distill_losses) == METHOD_TERMS[method]
    assert len(model.adapters) == 2
    losses = model.loss(*distiller_batch(model))
    distill = {k for k in losses if k.startswith('distill.')}
    assert distill == {f'distill.loss_{t}' for t in METHOD_TERMS[method]}
    total, _ = model.parse_losses(losses)
    total.backward()
    assert model.adapters[1].conv.weight.grad.abs().sum() > 0


def test_feature_methods_keep_pairs_the_papers_terms_cannot_use(tmp_path):
    """Other anchors and box codings switch the RPN and RoI terms off; the
    feature methods do not have them and say nothing about them."""
    student = student_variant(
        tmp_path, 'other_coding',
        dict(
            rpn_head=dict(anchor_generator=dict(scales=[8])),
            roi_head=dict(
                bbox_head=dict(
                    bbox_coder=dict(target_stds=[0.2, 0.2, 0.2, 0.2])))))
    out = tmp_path / 'kd.py'
    make(TEACHER, student, '--method', 'pkd', '--out', out)
    text = out.read_text()
    assert ' off: ' not in text and 'distill_losses' not in text
    assert 'the method distils features only' in ' '.join(
        text.replace('#', ' ').split())
    assert set(Config.fromfile(out).model.distill_losses) == {'pkd'}
    out = tmp_path / 'both.py'
    make(TEACHER, student, '--method', 'chen2017+pkd', '--out', out)
    terms = Config.fromfile(out).model.distill_losses
    assert {name
            for name, cfg in terms.items()
            if cfg is not None} == {'rcn_kd', 'hint', 'pkd'}


def test_unknown_method_and_default_names():
    from mmkd.zoo.write import default_out
    with pytest.raises(SystemExit) as info:
        make(TEACHER, STUDENT, '--method', 'fgd')
    assert info.value.code == 2  # argparse: invalid choice
    assert default_out('a/t.py',
                       'b/s.py') == osp.join('work_dirs', 'kd_configs',
                                             'kd_t_to_s.py')
    assert default_out('a/t.py', 'b/s.py', 'chen2017+pkd') == osp.join(
        'work_dirs', 'kd_configs', 'kd_t_to_s_chen2017-pkd.py')
