"""What the teacher sees: its own normalisation, channel order and padding;
the real full-resolution image for a high-resolution teacher; float32
outputs whatever the precision."""
import copy

import numpy as np
import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.models.distillers.teacher_input import TeacherInput
from mmkd.registry import DATASETS, MODELS
from mmkd.testing import ROOT
from mmkd.utils.errors import ConfigError

init_default_scope('mmkd')
KD = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
TEACHER = Config.fromfile(f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
RGB = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
PREPROCESSORS = {
    # Caffe-style (py-faster-rcnn's PIXEL_MEANS): BGR, mean subtracted,
    # std 1
    'caffe': dict(mean=[102.9801, 115.9465, 122.7717], std=[1., 1., 1.]),
    # raw pixels in the pipeline's (BGR) order
    'pixels': dict(),
}


def _samples(shapes):
    return [DetDataSample(metainfo=dict(img_shape=s)) for s in shapes]


@pytest.mark.parametrize('teacher', sorted(PREPROCESSORS))
def test_renormalisation_round_trip(teacher):
    """Student batch (RGB, ImageNet mean / std, zero padding) -> the batch
    the teacher's own preprocessor makes from the same pixels, padding
    included."""
    torch.manual_seed(0)
    shapes = [(40, 50), (64, 30)]
    imgs = [torch.randint(0, 256, (3, *s), dtype=torch.uint8) for s in shapes]
    s_pre = DetDataPreprocessor(**RGB, bgr_to_rgb=True, pad_size_divisor=32)
    t_pre = DetDataPreprocessor(**PREPROCESSORS[teacher], pad_size_divisor=32)
    student = s_pre(dict(inputs=imgs, data_samples=_samples(shapes)), False)
    wanted = t_pre(dict(inputs=imgs, data_samples=_samples(shapes)), False)
    got = TeacherInput(s_pre, t_pre).images(student['inputs'],
                                            student['data_samples'])
    assert got.shape == wanted['inputs'].shape == (2, 3, 64, 64)
    torch.testing.assert_close(got, wanted['inputs'], rtol=0, atol=1e-3)
    # channel order: the teacher's channel 0 is blue (the raw images are
    # BGR), where the student's is red
    h, w = shapes[0]
    offset = PREPROCESSORS[teacher].get('mean', [0.])[0]
    torch.testing.assert_close(
        got[0, 0, :h, :w] + offset, imgs[0][0].float(), rtol=0, atol=1e-3)


def test_same_preprocessor_passes_the_batch_through():
    pre = DetDataPreprocessor(**RGB, bgr_to_rgb=True)
    batch = torch.randn(1, 3, 8, 8)
    assert TeacherInput(pre, pre).images(batch, _samples([(8, 8)])) is batch


def test_a_scaled_teacher_without_its_images_is_refused():
    """The student's input is never upsampled for the teacher."""
    pre = DetDataPreprocessor(**RGB, bgr_to_rgb=True)
    with pytest.raises(ConfigError, match="StudentDownscale.*never upsampled"):
        TeacherInput(
            pre, pre,
            scale=2.0).images(torch.zeros(1, 3, 32, 32), _samples([(32, 32)]))


def test_teacher_outputs_are_float32_under_autocast():
    pre = DetDataPreprocessor(**RGB, bgr_to_rgb=True)
    teacher = MODELS.build(copy.deepcopy(TEACHER)).eval()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats = TeacherInput(pre, pre).extract_feat(teacher,
                                                    torch.randn(1, 3, 64, 64))
    assert {f.dtype for f in feats} == {torch.float32}


# --------------------------------------------- the high-resolution teacher
def _record(obj, method, seen, key, arg):
    """Record argument ``arg`` of ``obj.method`` under ``seen[key]``."""
    real = getattr(obj, method)

    def wrapper(*args):
        seen[key] = args[arg]
        return real(*args)

    setattr(obj, method, wrapper)


def _pipeline_batch(tiny_data):
    """Two training images through the pipeline of the half-resolution
    configs, with the full-resolution images (after Resize and RandomFlip)
    and their boxes kept aside."""
    dataset = DATASETS.build(
        dict(
            type='CheckedCocoDataset',
            data_root=tiny_data,
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            metainfo=dict(
                classes=('disc', 'ring', 'plate', 'notched_plate',
                         'hstriped_triangle', 'vstriped_triangle')),
            pipeline=[]))
    head = Compose([
        dict(type='CheckedLoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(48, 48), keep_ratio=True),
        dict(type='RandomFlip', prob=1.0),
    ])
    tail = Compose([
        dict(type='StudentDownscale', scale_factor=0.5),
        dict(type='PackDistillInputs')
    ])
    fulls, items = [], []
    for idx in (0, 1):
        results = head(dataset.get_data_info(idx))
        fulls.append(
            (results['img'].copy(), results['gt_bboxes'].tensor.clone()))
        items.append(tail(results))
    return fulls, pseudo_collate(items)


def test_high_resolution_teacher_sees_the_full_resolution_image(tiny_data):
    """The teacher's input is the pipeline's full-resolution image (not the
    student's upsampled); the student's is its 2x2 area average; boxes and
    RoIs are scaled by 2 between them."""
    cfg = copy.deepcopy(KD)
    cfg.teacher, cfg.random_teacher = copy.deepcopy(TEACHER), True
    cfg.teacher_input_scale = 2.0
    cfg.distill_losses.rpn_kd = cfg.distill_losses.rpn_reg = None
    model = MODELS.build(cfg)
    fulls, packed = _pipeline_batch(tiny_data)
    data = model.data_preprocessor(packed, True)
    seen = {}
    _record(model.teacher, 'extract_feat', seen, 'img', 0)
    _record(model.teacher.roi_head, '_bbox_forward', seen, 't_rois', 1)
    _record(model.student.roi_head, '_bbox_forward', seen, 's_rois', 1)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert torch.isfinite(losses['distill.loss_hint'][0])

    mean = torch.tensor(RGB['mean']).view(3, 1, 1)
    std = torch.tensor(RGB['std']).view(3, 1, 1)
    teacher_px = (seen['img'] * std + mean).flip(1)  # back to BGR pixels
    student_px = (data['inputs'] * std + mean).flip(1)
    assert seen['img'].shape[-2:] == (64, 64)  # 2 x the student's batch
    assert data['inputs'].shape[-2:] == (32, 32)
    for i, (full, boxes) in enumerate(fulls):
        full = torch.from_numpy(full).permute(2, 0, 1).float()
        h, w = full.shape[-2:]
        torch.testing.assert_close(
            teacher_px[i, :, :h, :w], full, rtol=0, atol=1e-3)
        assert (seen['img'][i, :, h:, :] == 0).all()  # teacher's padding
        assert (seen['img'][i, :, :, w:] == 0).all()
        # antialiased: each student pixel is a 2 x 2 mean (uint8-rounded)
        area = torch.nn.functional.avg_pool2d(full[None], 2)[0]
        assert (student_px[i, :, :h // 2, :w // 2] - area).abs().max() <= 0.51
        sample = data['data_samples'][i]
        torch.testing.assert_close(sample.gt_instances.bboxes, boxes / 2)
        assert sample.metainfo['teacher_scale_factor'] == (2.0, 2.0)
        assert np.allclose(sample.metainfo['scale_factor'],
                           (48 / 64 / 2, ) * 2)
    s_rois, t_rois = seen['s_rois'], seen['t_rois']
    torch.testing.assert_close(t_rois[:, 0], s_rois[:, 0])
    torch.testing.assert_close(t_rois[:, 1:], s_rois[:, 1:] * 2)


def test_pipeline_and_teacher_input_scale_must_agree(tiny_data):
    cfg = copy.deepcopy(KD)
    cfg.teacher, cfg.random_teacher = copy.deepcopy(TEACHER), True
    cfg.teacher_input_scale = 3.0
    cfg.distill_losses.rpn_kd = cfg.distill_losses.rpn_reg = None
    model = MODELS.build(cfg)
    _, packed = _pipeline_batch(tiny_data)
    data = model.data_preprocessor(packed, True)
    with pytest.raises(ConfigError, match='teacher_input_scale=3'):
        model.loss(data['inputs'], data['data_samples'])
