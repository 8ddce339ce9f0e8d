"""Teacher / student pairs whose outputs are not comparable are refused at
build time with both values; a RoI-head family the distiller does not
drive is refused; class names and order are checked against the training
set."""
import copy

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.registry import MODELS
from mmkd.testing import ROOT, data_options, load_tool

init_default_scope('mmkd')
KD = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
TEACHER = Config.fromfile(f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
MASK_HEAD = dict(
    mask_roi_extractor=dict(
        type='SingleRoIExtractor',
        roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
        out_channels=16,
        featmap_strides=[4, 8, 16, 32]),
    mask_head=dict(
        type='FCNMaskHead',
        num_convs=1,
        in_channels=16,
        conv_out_channels=16,
        num_classes=6))


def _build(teacher=None, student=None, **overrides):
    cfg = copy.deepcopy(KD)
    cfg.teacher = teacher or copy.deepcopy(TEACHER)
    cfg.student = student or cfg.student
    cfg.teacher_ckpt, cfg.random_teacher = None, True
    for key, value in overrides.items():
        cfg[key] = value
    return MODELS.build(cfg)


def _changed(path, value):
    """The tiny teacher with ``path`` (dotted) set to ``value``."""
    cfg = Config(dict(model=copy.deepcopy(TEACHER)))
    cfg.merge_from_dict({f'model.{path}': value})
    return cfg.model


@pytest.mark.parametrize('path, value, message', [
    ('rpn_head.bbox_coder.target_stds', [0.5, 0.5, 1.0, 1.0],
     r'rpn_head.bbox_coder .*student \(.*\(1.0, 1.0, 1.0, 1.0\)\), teacher '
     r'\(.*\(0.5, 0.5, 1.0, 1.0\)\)'),
    ('roi_head.bbox_head.bbox_coder.target_means', [0.1, 0., 0., 0.],
     r'roi_head.bbox_head.bbox_coder .*\(0.0, 0.0, 0.0, 0.0\).*'
     r'\(0.1, 0.0, 0.0, 0.0\)'),
    ('roi_head.bbox_head.bbox_coder.target_stds', [0.2, 0.2, 0.2, 0.2],
     r'\(0.1, 0.1, 0.2, 0.2\).*\(0.2, 0.2, 0.2, 0.2\)'),
    ('roi_head.bbox_head.reg_decoded_bbox', True,
     'roi_head.bbox_head.reg_decoded_bbox: student False, teacher True'),
    ('rpn_head.reg_decoded_bbox', True,
     'rpn_head.reg_decoded_bbox: student False, teacher True'),
    ('roi_head.bbox_head.loss_cls.use_sigmoid', True,
     "teacher's RoI head classifies with sigmoids"),
])
def test_encoding_mismatches_are_refused_with_both_values(
        path, value, message):
    with pytest.raises(ValueError, match=message):
        _build(teacher=_changed(path, value))


@pytest.mark.parametrize('path, value, term', [
    ('rpn_head.bbox_coder.target_stds', [0.5, 0.5, 1.0, 1.0], 'rpn_reg'),
    ('roi_head.bbox_head.bbox_coder.target_stds', [0.2, 0.2, 0.2, 0.2
                                                   ], 'rcn_reg'),
    ('roi_head.bbox_head.loss_cls.use_sigmoid', True, 'rcn_kd'),
])
def test_a_mismatch_that_no_enabled_term_reads_is_accepted(path, value, term):
    """The fix the message offers works: without the term that compares
    those outputs, the pair builds."""
    _build(
        teacher=_changed(path, value),
        distill_losses={
            **KD.distill_losses, term: None
        })


def test_a_student_mask_head_is_trained_and_other_families_refused():
    """A Mask R-CNN student builds (its mask head trains on its own loss);
    a RoI head whose training the distiller would bypass is refused with
    the family and the reason."""
    student = copy.deepcopy(KD.student)
    student.type = 'MaskRCNN'
    student.roi_head.update(copy.deepcopy(MASK_HEAD))
    assert _build(student=student).student_roi.with_mask
    student.roi_head.type = 'MaskScoringRoIHead'
    student.roi_head.mask_iou_head = dict(
        type='MaskIoUHead',
        num_convs=1,
        num_fcs=1,
        roi_feat_size=14,
        in_channels=16,
        conv_out_channels=16,
        fc_out_channels=16,
        num_classes=6)
    with pytest.raises(
            ValueError,
            match="student's roi_head is a MaskScoringRoIHead, which cannot "
            "be distilled: its mask IoU head trains on"):
        _build(student=student)


def test_class_order_of_the_training_set_is_checked(tiny_data, tmp_path,
                                                    tiny_teacher):
    """A teacher named by its config file whose dataset lists the classes
    in another order than the training set stops the run before the first
    update, naming the first class that differs."""
    teacher = tmp_path / 'teacher_reordered.py'
    teacher.write_text(
        f"_base_ = ['{ROOT}/tests/configs/tiny_frcnn_teacher.py']\n"
        'train_dataloader = dict(dataset=dict(metainfo=dict(classes=('
        "'ring', 'disc', 'plate', 'notched_plate', 'hstriped_triangle', "
        "'vstriped_triangle'))))\n")
    with pytest.raises(SystemExit) as info:
        load_tool('train').main([
            f'{ROOT}/tests/configs/tiny_kd.py',
            '--work-dir',
            str(tmp_path / 'work'),
            '--cfg-options',
            *data_options(tiny_data),
            f'model.teacher={teacher}',
            f'model.teacher_ckpt={tiny_teacher}',
        ])
    message = str(info.value)
    assert message.startswith('error: TwoStageDistiller: ')
    assert ("the same classes in another order: class 0 is 'disc' for the "
            "student and 'ring' for the teacher") in message
    assert not list(tmp_path.glob('work/*.pth'))


def test_classes_are_checked_only_inside_a_training_loop():
    """A bare ``loss()`` (tests, benchmarks) ignores the dataset_meta an
    earlier runner left in MMEngine's current message hub."""
    import uuid

    from mmdet.testing import demo_mm_inputs
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance(uuid.uuid4().hex)  # now the current hub
    hub.update_info('dataset_meta', dict(classes=('a', 'b')))
    cfg = copy.deepcopy(KD)
    cfg.teacher = f'{ROOT}/tests/configs/tiny_frcnn_teacher.py'
    cfg.random_teacher = True
    model = MODELS.build(cfg)
    assert model.teacher_classes[:2] == ('disc', 'ring')
    data = model.data_preprocessor(
        demo_mm_inputs(2, [(3, 64, 64)] * 2, num_classes=6), True)
    model.loss(data['inputs'], data['data_samples'])  # no error
    hub.update_info('loop_stage', 'train')
    try:
        with pytest.raises(ValueError, match='different classes: class 0'):
            model.loss(data['inputs'], data['data_samples'])
    finally:  # leave an inert current hub to the next tests
        hub.pop_info('loop_stage')
        hub.pop_info('dataset_meta')
