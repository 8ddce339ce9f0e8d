"""Parameters and FLOPs of a detector, or of a distillation config's teacher
and student.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W] \
        [--num-rois N] [--cfg-options k=v ...]

Counted with MMEngine's ``get_model_complexity_info`` through
:func:`mmkd.analysis.flops.detector_complexity`: trunk, RPN head and the
RoI head on ``--num-rois`` RoIs (300 by default, Faster R-CNN's test-time
proposals); one multiply-add is one FLOP. ``--shape`` is the (student's)
input, by default the test pipeline's size (600 x 1000 for the paper's
configs); a distiller's teacher gets it times ``teacher_input_scale``. A
distiller's adaptation layers are training-only and reported apart.
"""
import argparse

from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detector or distillation config')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input size (default: the test pipeline size)')
    parser.add_argument(
        '--num-rois', type=int, default=300, help='RoIs through the RoI head')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='key=value overrides of the config')
    return parser.parse_args(argv)


def build(model_cfg, scope='mmkd'):
    """Build a model (no weights are loaded) in eval mode, with the
    registry scope of its config (MMDetection's types under 'mmkd')."""
    from mmengine.registry import init_default_scope

    from mmkd.registry import MODELS
    init_default_scope(scope)
    return MODELS.build(model_cfg).eval()


def models_to_count(cfg, shape):
    """``[(role, model cfg, (H, W))]``: the detector, or teacher and
    student of a distiller."""
    from mmkd.models.distillers.export import (deployed_model_cfg,
                                               teacher_model_cfg)
    student = deployed_model_cfg(cfg.model)
    teacher = teacher_model_cfg(cfg.model)
    if teacher is None:
        return [('detector', student, shape)]
    scale = cfg.model.get('teacher_input_scale', 1.0)
    t_shape = tuple(int(round(s * scale)) for s in shape)
    return [('teacher', teacher, t_shape), ('student', student, shape)]


def adapter_params(cfg):
    """Parameters of a distiller's adaptation layers (0 if none)."""
    from mmkd.analysis.speed import count_parameters
    from mmkd.models.distillers.export import is_distiller
    adapters = cfg.model.get('adapters') if is_distiller(cfg.model) else None
    if isinstance(adapters, dict):  # one adapter per hint level
        adapters = [adapters] * len(cfg.model.get('hint_levels', [(0, 0)]))
    scope = cfg.get('default_scope', 'mmkd')
    return sum(count_parameters(build(a, scope)) for a in adapters or [] if a)


def count(cfg, shape, num_rois=300):
    """Rows ``dict(role, shape, params, flops)`` for every model of ``cfg``.
    """
    from mmkd.analysis.flops import detector_complexity
    rows, scope = [], cfg.get('default_scope', 'mmkd')
    for role, model_cfg, model_shape in models_to_count(cfg, shape):
        stats = detector_complexity(
            build(model_cfg, scope), model_shape, num_rois)
        rows.append(dict(role=role, shape=model_shape, **stats))
    return rows


def print_rows(rows, num_rois, adapters):
    """Print one row per model, the student / teacher ratios and the
    adapters' size."""
    print(f'{num_rois} RoIs through the RoI head; 1 multiply-add = 1 FLOP')
    print(f"{'model':<10}{'input':>12}{'params':>12}{'FLOPs':>12}")
    for row in rows:
        h, w = row['shape']
        print(f"{row['role']:<10}{f'{h}x{w}':>12}"
              f"{row['params'] / 1e6:>11.2f}M{row['flops'] / 1e9:>11.2f}G")
    if len(rows) == 2:
        teacher, student = rows
        print(f"{'student / teacher':<22}"
              f"{student['params'] / teacher['params']:>11.3f}x"
              f"{student['flops'] / teacher['flops']:>11.3f}x")
    if adapters:
        print(f'adaptation layers (training only): {adapters / 1e6:.3f}M '
              'params')


def main(argv=None):
    from mmkd.analysis.inputs import pipeline_shape
    from mmkd.engine.config_check import load_config
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    shape = tuple(args.shape) if args.shape else pipeline_shape(cfg)
    rows = count(cfg, shape, args.num_rois)
    adapters = adapter_params(cfg)
    print_rows(rows, args.num_rois, adapters)
    return dict(rows=rows, adapter_params=adapters)


if __name__ == '__main__':
    main()
