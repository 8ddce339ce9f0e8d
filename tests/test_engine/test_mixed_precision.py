"""Mixed precision: bf16 without a loss scale, fp16 only with a dynamic one,
and every distillation term in float32 during an ``--amp`` step."""
import copy

import pytest
import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.engine.launch import configure_amp
from mmkd.engine.optim_wrapper import AutocastOptimWrapper
from mmkd.models.distillers import TwoStageDistiller
from mmkd.registry import MODELS
from mmkd.testing import ROOT, data_options, load_tool
from mmkd.utils.errors import ConfigError

init_default_scope('mmkd')


@pytest.fixture(autouse=True)
def mmkd_scope():
    init_default_scope('mmkd')  # whatever an earlier test left current


KD_CONFIG = f'{ROOT}/tests/configs/tiny_kd.py'


def _sgd(model):
    return dict(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))


@pytest.mark.parametrize('loss_scale', [512.0, None, dict(enabled=False)])
def test_float16_without_dynamic_loss_scaling_is_refused(loss_scale):
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ConfigError, match='float16 needs loss_scale='):
        AutocastOptimWrapper(
            **_sgd(model), dtype='float16', loss_scale=loss_scale)


def test_float16_step_uses_a_dynamic_loss_scale():
    """One distillation step under fp16 autocast on CPU: the loss is scaled
    (by 2^16 at first), the weights move, and the scaler's state travels
    with the optimizer's (checkpoints)."""
    cfg = copy.deepcopy(Config.fromfile(KD_CONFIG).model)
    cfg.random_teacher = True
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    wrapper = AutocastOptimWrapper(**_sgd(model), dtype='float16')
    assert isinstance(wrapper.loss_scaler, torch.amp.GradScaler)
    assert wrapper.loss_scaler.get_scale() == 2.0**16
    before = model.student.roi_head.bbox_head.fc_cls.weight.clone()
    data = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 64, 64)] * 2,
        num_items=[3, 2],
        num_classes=6)
    log_vars = model.train_step(data, wrapper)
    assert torch.isfinite(log_vars['loss'])
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == wrapper.loss_scaler.get_scale()
    moved = not torch.equal(before,
                            model.student.roi_head.bbox_head.fc_cls.weight)
    # a first step may overflow at 2^16 and be skipped (scale halved)
    assert moved or wrapper.loss_scaler.get_scale() == 2.0**15


def test_configure_amp_picks_bf16_on_cpu_and_keeps_fp16_dynamic():
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD'))))
    configure_amp(cfg)
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    cfg = Config(
        dict(
            optim_wrapper=dict(
                type='AmpOptimWrapper', dtype='float16', loss_scale=512.0)))
    with pytest.raises(SystemExit, match='float16 needs dynamic loss scaling'):
        configure_amp(cfg)


@pytest.mark.parametrize('key,name,fix', [
    ('model.student.rpn_head', 'RPNHead', 'AmpSafeRPNHead'),
    ('model.student.roi_head.bbox_roi_extractor', 'SingleRoIExtractor',
     'AmpSafeRoIExtractor'),
])
def test_amp_on_cpu_refuses_mmdet_heads_whose_ops_need_float32(
        key, name, fix, tmp_path, monkeypatch, capsys):
    """type='RPNHead' builds MMDetection's class, whose NMS mmcv's CPU
    kernel refuses in bf16: --amp on CPU says so in one line, before any
    file is written, instead of failing inside the first step."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit) as info:
        load_tool('train').main([
            KD_CONFIG, '--amp', '--work-dir',
            str(tmp_path / 'w'), '--cfg-options', f'{key}.type={name}'
        ])
    assert str(info.value) == (
        f"error: --amp on CPU: {key}.type='{name}' runs mmcv's NMS / "
        'RoIAlign in bfloat16, which their CPU kernels refuse; use '
        f"type='{fix}' (the same module with float32 inputs for those "
        'ops), or train without --amp')
    assert not (tmp_path / 'w').exists()


def test_one_amp_training_step_computes_the_terms_in_float32(
        tiny_data, tiny_teacher, tmp_path, monkeypatch):
    """tools/train.py --amp: the step runs under bf16 autocast (on CPU) and
    every distillation term the distiller returns is float32."""
    seen = {}
    real_loss = TwoStageDistiller.loss

    def loss(self, *args):
        seen['autocast'] = torch.is_autocast_enabled('cpu')
        out = real_loss(self, *args)
        for key, value in out.items():
            if key.startswith('distill.'):
                values = value if isinstance(value, list) else [value]
                seen[key] = {v.dtype for v in values}
        return out

    monkeypatch.setattr(TwoStageDistiller, 'loss', loss)
    load_tool('train').main([
        KD_CONFIG,
        '--amp',
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        *data_options(tiny_data),
        f'model.teacher_ckpt={tiny_teacher}',
        'train_dataloader.dataset.indices=[0,1]',
        'train_cfg.val_interval=9',
    ])
    assert seen.pop('autocast') is True
    assert set(seen) == {
        f'distill.loss_{t}'
        for t in ('rpn_kd', 'rpn_reg', 'rcn_kd', 'rcn_reg', 'hint')
    }
    assert all(dtypes == {torch.float32} for dtypes in seen.values()), seen
    ckpt = torch.load(tmp_path / 'epoch_1.pth')
    assert 'AutocastOptimWrapper' in ckpt['meta']['cfg']
