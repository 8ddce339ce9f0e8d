"""Where the hint compares the student's adapted map with the teacher's:
only over image content (the padding of a batch is masked), and, for the
paper's high-resolution teacher, cell by cell at the same image position.

Both tests run ``TwoStageDistiller.loss`` on batches of images of different
sizes (so the batch is padded) and record what the hint loss receives:
the adapted student map, the teacher map and the mask.
"""
import copy

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.models.losses.hint_adapt_loss import hint_adapt_loss
from mmkd.registry import MODELS
from mmkd.testing import ROOT

init_default_scope('mmkd')
KD = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
KD.teacher = Config.fromfile(
    f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
KD.random_teacher = True  # the mechanics, not a trained teacher
STRIDE = 4  # FPN level 0 of both tiny detectors: the hint level (0, 0)


def _distiller(**overrides):
    torch.manual_seed(0)
    return MODELS.build(dict(copy.deepcopy(KD), **overrides))


def _record_hint(model) -> dict:
    """Record the (adapted student, teacher, weight) the hint loss gets."""
    hint, seen = model.distill_losses['hint'], {}
    real = hint.forward

    def forward(student_feat, teacher_feat, *, weight=None, **kwargs):
        seen.update(s=student_feat.detach(), t=teacher_feat.detach(), w=weight)
        return real(student_feat, teacher_feat, weight=weight, **kwargs)

    hint.forward = forward
    return seen


def _inside(shape, sizes, stride) -> torch.Tensor:
    """``(N, 1, H, W)``: 1 on the cells of a ``stride`` map that lie in
    each image (``sizes``: its height and width in pixels; multiples of
    ``stride`` here, so no cell is partly inside)."""
    mask = torch.zeros(shape)
    for i, (h, w) in enumerate(sizes):
        mask[i, :, :h // stride, :w // stride] = 1
    return mask


# ------------------------------------------------------- the padding mask
def test_the_hint_ignores_the_padding_of_a_batch():
    """Two images of different sizes, padded to one 64 x 64 batch: the hint
    is the relative squared error over the images' cells only, and it
    would differ if the padding counted."""
    model = _distiller()
    sizes = [(64, 48), (40, 64)]  # (h, w): padded to 64 x 64
    torch.manual_seed(1)
    packed = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, h, w) for h, w in sizes],
        num_items=[3, 2],
        num_classes=6,
        with_mask=False)
    data = model.data_preprocessor(packed, True)
    assert data['inputs'].shape[-2:] == (64, 64)
    seen = _record_hint(model)
    [hint] = model.loss(data['inputs'],
                        data['data_samples'])['distill.loss_hint']
    s, t = seen['s'], seen['t']
    assert s.shape == t.shape == (2, 32, 16, 16)
    mask = _inside((2, 1, 16, 16), sizes, STRIDE)
    # L_hint = gamma * sum_mask (a(V) - Z)^2 / sum_mask Z^2, gamma = 0.5
    by_hand = 0.5 * ((s - t)**2 * mask).sum() / (t**2 * mask).sum()
    unmasked = 0.5 * ((s - t)**2).sum() / (t**2).sum()
    torch.testing.assert_close(hint, by_hand, rtol=1e-5, atol=0)
    assert torch.equal(seen['w'], mask)
    # the padding is a quarter of the batch and its features are not
    # zero: counting it would change the hint noticeably
    assert abs(unmasked - by_hand) > 0.02 * by_hand


# --------------------------------------------- the high-resolution teacher
def _ramp(h: int, w: int) -> np.ndarray:
    """A BGR uint8 image whose pixel at (y, x) is (2x, 2y, 0): its
    position, in the teacher's pixels."""
    y, x = np.mgrid[:h, :w]
    return np.stack([2 * x, 2 * y, 0 * x], axis=-1).astype(np.uint8)


def _half_resolution_batch(model, sizes):
    """Teacher images of ``sizes`` through the half-resolution pipeline's
    last steps (StudentDownscale 0.5, PackDistillInputs), preprocessed."""
    tail = Compose([
        dict(type='StudentDownscale', scale_factor=0.5),
        dict(type='PackDistillInputs')
    ])
    items = []
    for i, (h, w) in enumerate(sizes):
        items.append(
            tail(
                dict(
                    img=_ramp(h, w),
                    img_shape=(h, w),
                    ori_shape=(h, w),
                    img_id=i,
                    img_path=f'{i}.png',
                    scale_factor=(1.0, 1.0),
                    flip=False,
                    flip_direction=None,
                    gt_bboxes=HorizontalBoxes(
                        torch.tensor([[4., 4., 20., 20.]])),
                    gt_bboxes_labels=np.array([1]),
                    gt_ignore_flags=np.array([False]))))
    return model.data_preprocessor(pseudo_collate(items), True)


def _position_maps(detector, channels: int):
    """Make level 0 of ``detector.extract_feat`` the 4 x 4 average of its
    input image (channels 0-2; the rest 0): a known function of the image
    position that each map cell covers."""
    real = detector.extract_feat

    def extract_feat(x):
        feats = list(real(x))
        pooled = F.avg_pool2d(x, STRIDE)
        feats[0] = torch.cat([
            pooled,
            pooled.new_zeros(len(x), channels - 3, *pooled.shape[-2:])
        ],
                             dim=1)
        return tuple(feats)

    detector.extract_feat = extract_feat


def _position(px: float, channel: int, model) -> float:
    """Input ``channel`` at teacher pixel column (channel 2: red after
    the BGR -> RGB flip, 2x) or row (channel 1: green, 2y) ``px``,
    normalised."""
    pre = model.data_preprocessor
    return (2 * px - pre.mean[channel].item()) / pre.std[channel].item()


def _cells(stride: float, count: int, channel: int, model) -> torch.Tensor:
    """The position values of ``count`` cells of ``stride`` teacher
    pixels (their centres)."""
    return torch.tensor([
        _position(stride * c + (stride - 1) / 2, channel, model)
        for c in range(count)
    ])


def test_the_high_resolution_teachers_hint_lines_up_cell_by_cell():
    """teacher_input_scale=2: the teacher sees the full-resolution image,
    the student its half. With both level-0 maps a known function of the
    image position, the student's map (adapted by an identity layer and
    resized to the teacher's) equals the teacher's on every cell, at the
    same image position; the mask computed from the student's image sizes
    covers exactly the teacher cells inside each image."""
    model = _distiller(
        teacher_input_scale=2.0,
        distill_losses=dict(KD.distill_losses, rpn_kd=None, rpn_reg=None))
    sizes = [(48, 64), (40, 24)]  # teacher (h, w); the student's are half
    data = _half_resolution_batch(model, sizes)
    assert data['inputs'].shape[-2:] == (32, 32)  # the student batch
    _position_maps(model.student, 16)
    _position_maps(model.teacher, 32)
    conv = model.adapters[0].conv  # 16 -> 32 channels: identity on 0-2
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        for c in range(3):
            conv.weight[c, c] = 1.0
    seen = _record_hint(model)
    model.loss(data['inputs'], data['data_samples'])
    s, t = seen['s'], seen['t']
    assert s.shape == (2, 32, 8, 8) and t.shape == (2, 32, 16, 16)
    for i, (h, w) in enumerate(sizes):
        rows, cols = h // STRIDE, w // STRIDE  # teacher cells in the image
        # the teacher's cell c covers teacher pixels 4c..4c+3 (centre
        # 4c + 1.5), the student's cell c student pixels 4c..4c+3, i.e.
        # teacher pixels 8c..8c+7 (centre 8c + 3.5): both maps hold the
        # image position they cover, from the top left of the batch
        for maps, stride, n_rows, n_cols in ((t, STRIDE, rows, cols),
                                             (s, 2 * STRIDE, rows // 2,
                                              cols // 2)):
            torch.testing.assert_close(
                maps[i, 2, :n_rows, :n_cols],
                _cells(stride, n_cols, 2, model).expand(n_rows, n_cols),
                atol=1e-4,
                rtol=0)
            torch.testing.assert_close(
                maps[i, 1, :n_rows, :n_cols],
                _cells(stride, n_rows, 1, model)[:,
                                                 None].expand(n_rows, n_cols),
                atol=1e-4,
                rtol=0)
        # cell by cell, after the loss resizes the student's map: equal
        # wherever both of a cell's bilinear neighbours lie in the image
        # (the outermost ring interpolates towards the border or padding)
        error = hint_adapt_loss(s, t)[i]
        inner = error[:, 1:rows - 1, 1:cols - 1]
        assert inner.numel() > 0
        torch.testing.assert_close(
            inner, torch.zeros_like(inner), atol=1e-6, rtol=0)
    assert torch.equal(seen['w'], _inside((2, 1, 16, 16), sizes, STRIDE))
