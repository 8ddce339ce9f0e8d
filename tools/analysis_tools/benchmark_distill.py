"""What distillation costs: step times, their ratios, precision and memory.

    python tools/analysis_tools/benchmark_distill.py CONFIG \
        [--shape 600 1000] [--batch-size 2] [--iters 5] [--amp] [--memory] \
        [--random-teacher] [--before] [--device cuda]

On the same batches and in one run (these machines are noisy, so the steps
are interleaved round by round and the median is kept) it measures:

* ``S``: a student-only training step (forward, losses, backward, SGD);
* ``F``: the teacher forward that the config's terms need: the trunk, and
  the RPN head (RPN terms) and the RoI head on the student's sampled RoIs
  (RoI terms) where they are on (no targets, no losses); a method of
  feature terms only (FitNets, PKD, CWD) needs the trunk alone;
* ``D``: a distillation step of ``TwoStageDistiller``;
* ``T``: the teacher in full ``loss`` mode (its own target assignment,
  sampling and losses) as other toolkits run it;

and prints ``D / (S + F)`` (1.0 is the floor; compare methods with their
configs or ``--cfg-options``, e.g. ``configs/kd/*_pkd.py``), the naive step
``T + D - F`` (full teacher loss pass instead of our forward) and its
ratio to ``D``. ``--amp`` adds bf16 autocast (and a bf16 teacher with an
fp32 student) with the loss terms' agreement against fp32 on the same
batch; ``--memory`` runs ``S`` and ``D`` in fresh processes and prints their
peak RSS. The teacher is loaded from the config's ``teacher_ckpt``;
``--random-teacher`` times a teacher with random weights instead (the step
times do not depend on the weights, and no student is trained here for
use). A config that trains channels-last (``ChannelsLastHook``) is timed
channels-last. ``--before`` times, beside it and round by round, the same
pair with mmcv's ``RoIAlign`` and contiguous weights, the defaults before
``SeparableRoIAlign`` and ``ChannelsLastHook``.
"""
import argparse
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a TwoStageDistiller config')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=None,
        help='input H W (default: the config pipeline size)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument(
        '--iters', type=int, default=5, help='timed rounds (median kept)')
    parser.add_argument('--amp', action='store_true')
    parser.add_argument(
        '--device',
        default='cpu',
        help='cpu (default), cuda or cuda:N; on a GPU the steps are timed '
        'with torch.cuda.synchronize()')
    parser.add_argument('--memory', action='store_true')
    parser.add_argument(
        '--random-teacher',
        action='store_true',
        help="time a teacher with random weights instead of the config's "
        'teacher_ckpt (model.random_teacher=True): the times do not depend '
        'on the weights, and this benchmark trains no student for use')
    parser.add_argument(
        '--before',
        action='store_true',
        help="also time the same pair with mmcv's RoIAlign in place of "
        'SeparableRoIAlign and without channels-last weights (the earlier '
        'defaults), round by round beside the config as it is')
    parser.add_argument('--only', choices=['S', 'D'], help=argparse.SUPPRESS)
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='key=value overrides')
    return parser.parse_args(argv)


def build(args):
    from mmengine.registry import init_default_scope

    from mmkd.engine.config_check import load_cfg
    from mmkd.models.distillers.export import is_distiller
    from mmkd.registry import MODELS
    cfg = load_cfg(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmkd'))
    if not is_distiller(cfg.model):
        raise SystemExit(f'error: {args.config} is not a distillation '
                         'config (model.type must be TwoStageDistiller)')
    if args.only == 'S':  # the student's peak memory, without a teacher
        cfg.model.eval_only = True
    if args.random_teacher:
        cfg.model.teacher_ckpt, cfg.model.random_teacher = None, True
    elif not cfg.model.get('eval_only') and not cfg.model.get('teacher_ckpt'):
        raise SystemExit(
            f'error: {args.config} sets no model.teacher_ckpt; give the '
            'teacher with --cfg-options model.teacher_ckpt=PATH, or time a '
            'random teacher with --random-teacher')
    torch.manual_seed(0)
    distiller = MODELS.build(cfg.model).to(args.device).train()
    if any(
            h.get('type') == 'ChannelsLastHook'
            for h in cfg.get('custom_hooks', [])):
        # as the config trains (ChannelsLastHook)
        from mmkd.engine.hooks.channels_last_hook import check_layout_free
        check_layout_free(distiller)
        distiller.to(memory_format=torch.channels_last)
    shape = args.shape or _pipeline_shape(cfg)
    return distiller, _batch(distiller, shape, args.batch_size, cfg)


def earlier_ops(distiller) -> None:
    """The distiller's student and teacher with mmcv's ``RoIAlign`` in
    place of ``SeparableRoIAlign`` and contiguous weights: the defaults
    before those two (``--before``)."""
    from mmcv.ops import RoIAlign

    from mmkd.ops import SeparableRoIAlign
    for model in (distiller, distiller.teacher):
        model.to(memory_format=torch.contiguous_format)
        for module in list(model.modules()):
            for name, child in module.named_children():
                if isinstance(child, SeparableRoIAlign):
                    setattr(
                        module, name,
                        RoIAlign(child.output_size, child.spatial_scale,
                                 child.sampling_ratio, child.pool_mode,
                                 child.aligned))


def _pipeline_shape(cfg):
    for step in cfg.train_pipeline:
        if step['type'] == 'Resize':
            w, h = step['scale']
            return h, w
    return 600, 1000


def _batch(distiller, shape, batch_size, cfg):
    """A random batch at the student's ``shape``; for a high-resolution
    teacher (``teacher_input_scale`` != 1) each sample also carries the
    teacher's image, as ``PackDistillInputs`` packs it."""
    from mmdet.testing import demo_mm_inputs
    num_classes = distiller.student_roi.bbox_head(0).num_classes
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=batch_size,
        image_shapes=[(3, *shape)] * batch_size,
        num_items=[5] * batch_size,
        num_classes=num_classes,
        with_mask=False)
    scale = getattr(getattr(distiller, 'teacher_input', None), 'scale', 1.0)
    if scale != 1.0:
        for img, sample in zip(packed['inputs'], packed['data_samples']):
            sample.teacher_img = torch.nn.functional.interpolate(
                img[None].float(), scale_factor=scale,
                mode='bilinear')[0].round().clamp(0, 255).byte()
            sample.set_metainfo(dict(teacher_scale_factor=(scale, scale)))
    return distiller.data_preprocessor(packed, True)


def _step(model, loss_fn, optim, data):
    torch.manual_seed(1)  # same anchor / RoI samples in every variant
    losses = loss_fn(data['inputs'], data['data_samples'])
    total, log_vars = model.parse_losses(losses)
    optim.zero_grad()
    total.backward()
    optim.step()
    return {k: float(torch.as_tensor(v).detach()) for k, v in log_vars.items()}


def teacher_parts(distiller) -> list:
    """The parts of the teacher the distiller's terms run."""
    terms = set(distiller.distill_losses)
    return ['trunk'] + [
        name for name, uses in (
            ('RPN head', {'rpn_kd', 'rpn_reg'}),
            ('RoI head', {'rcn_kd', 'rcn_reg', 'mask_kd'})) if terms & uses
    ]


def _teacher_forward(distiller, data, rois):
    teacher, adapt = distiller.teacher, distiller.teacher_input
    samples = data['data_samples']
    parts = teacher_parts(distiller)
    feats = adapt.extract_feat(teacher, data['inputs'], samples)
    if 'RPN head' in parts:
        adapt.run(teacher.rpn_head, feats)
    if 'RoI head' in parts:
        distiller.teacher_rcn(0, feats, rois, samples)


def _student_rois(distiller, data):
    """The RoIs of the student's first RoI stage on this batch (for ``F``):
    those the distiller gives the teacher's RoI head."""
    captured = {}

    def capture(stage, feats, rois, samples):
        captured.setdefault(stage, rois)
        return type(distiller).teacher_rcn(distiller, stage, feats, rois,
                                           samples)

    distiller.teacher_rcn = capture  # this instance only
    try:
        with torch.no_grad():
            torch.manual_seed(1)
            distiller.loss(data['inputs'], data['data_samples'])
    finally:
        del distiller.teacher_rcn
    return captured[0]


def _sync():
    """Wait for the GPU's queued work, so that a step is timed whole."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _seconds(fn):
    _sync()
    start = time.perf_counter()
    fn()
    _sync()
    return time.perf_counter() - start


def timed(fn, iters):
    times = [_seconds(fn) for _ in range(iters + 1)]
    return statistics.median(times[1:])  # the first round warms up


def _jobs(distiller, data):
    student = distiller.student
    s_optim = torch.optim.SGD(student.parameters(), lr=1e-4, momentum=0.9)
    d_optim = torch.optim.SGD(distiller.parameters(), lr=1e-4, momentum=0.9)
    rois = _student_rois(distiller, data)
    return dict(
        S=lambda: _step(student, student.loss, s_optim, data),
        F=lambda: _teacher_forward(distiller, data, rois),
        D=lambda: _step(distiller, distiller.loss, d_optim, data),
        T=lambda: _no_grad(distiller.teacher.loss, data))


def speed(distiller, data, iters, others=None):
    """Median seconds of ``S``, ``F``, ``D``, ``T``; with ``others``
    (``{name: (distiller, data)}``) a dict of them per variant, the first
    named ``'as configured'``, all timed round by round in turn."""
    variants = {'as configured': (distiller, data), **(others or {})}
    jobs = {
        (variant, name): job
        for variant, pair in variants.items()
        for name, job in _jobs(*pair).items()
    }
    for job in jobs.values():  # warm-up round
        job()
    times = {key: [] for key in jobs}
    for _ in range(iters):
        for key, job in jobs.items():
            times[key].append(_seconds(job))
    medians = {key: statistics.median(v) for key, v in times.items()}
    per_variant = {
        variant: {
            name: medians[variant, name]
            for name in 'SFDT'
        }
        for variant in variants
    }
    return per_variant if others else per_variant['as configured']


def _no_grad(fn, data):
    with torch.no_grad():
        torch.manual_seed(1)
        return fn(data['inputs'], data['data_samples'])


def report_speed(t, parts):
    floor = t['S'] + t['F']
    naive = t['T'] + t['D'] - t['F']
    print(f"student step S      {1000 * t['S']:9.1f} ms")
    print(f"teacher forward F   {1000 * t['F']:9.1f} ms   "
          f"({' + '.join(parts)})")
    print(f"distill step D      {1000 * t['D']:9.1f} ms")
    print(f"teacher loss pass T {1000 * t['T']:9.1f} ms")
    print(f'D / (S + F)         {t["D"] / floor:9.3f}   (floor 1.0)')
    print(f'naive T + D - F     {1000 * naive:9.1f} ms   speed-up of ours '
          f'{naive / t["D"]:.2f}x')


def amp_agreement(distiller, data, iters):
    from mmengine.runner.amp import autocast
    optim = torch.optim.SGD(distiller.parameters(), lr=0.0)
    ref = _step(distiller, distiller.loss, optim, data)
    results = {}
    with autocast(dtype=torch.bfloat16):
        results['bf16 autocast (all)'] = _step(distiller, distiller.loss,
                                               optim, data)
    t_fp32 = timed(lambda: _step(distiller, distiller.loss, optim, data),
                   iters)

    def bf16_step():
        with autocast(dtype=torch.bfloat16):
            return _step(distiller, distiller.loss, optim, data)

    t_bf16 = timed(bf16_step, iters)
    adapt = distiller.teacher_input
    adapt.dtype = torch.bfloat16
    results['bf16 teacher, fp32 student'] = _step(distiller, distiller.loss,
                                                  optim, data)
    t_teacher = timed(lambda: _step(distiller, distiller.loss, optim, data),
                      iters)
    adapt.dtype = None
    for name, log_vars in results.items():
        print(f'{name}: relative difference of each term to fp32')
        for key, value in ref.items():
            if 'loss' in key:
                diff = abs(log_vars[key] - value)
                print(f'    {key:28s} {diff / max(abs(value), 1e-8):.2e}')
    print(f'speed: fp32 {1000 * t_fp32:.1f} ms, bf16 autocast '
          f'{1000 * t_bf16:.1f} ms (x{t_fp32 / t_bf16:.2f}), bf16 teacher '
          f'{1000 * t_teacher:.1f} ms (x{t_fp32 / t_teacher:.2f})')


def memory(args):
    peaks = {}
    for only in ('S', 'D'):
        cmd = [
            sys.executable, __file__, args.config, '--only', only,
            '--batch-size',
            str(args.batch_size), '--iters', '2'
        ]
        if args.shape:
            cmd += ['--shape', *map(str, args.shape)]
        if args.random_teacher:
            cmd.append('--random-teacher')
        if args.cfg_options:
            cmd += ['--cfg-options', *args.cfg_options]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-2000:])
        [line] = [
            x for x in out.stdout.splitlines() if x.startswith('peak_rss_mib=')
        ]
        peaks[only] = float(line.split('=')[1])
    print(f"peak RSS: student step {peaks['S']:.0f} MiB, distill step "
          f"{peaks['D']:.0f} MiB, ratio {peaks['D'] / peaks['S']:.2f}")


def check_device(device: str) -> None:
    """Refuse a device this machine does not have, in one line."""
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise SystemExit(f'error: --device {device!r} is not a device; use '
                         'cpu, cuda or cuda:N') from None
    if kind == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'error: --device {device}: torch '
                         f'{torch.__version__} sees no CUDA device here; '
                         'use --device cpu')
    if kind not in ('cpu', 'cuda'):
        raise SystemExit(f'error: --device {device}: only cpu and cuda are '
                         'measured')


def main(argv=None):
    args = parse_args(argv)
    import mmkd  # noqa: F401
    check_device(args.device)
    from mmkd.utils.errors import exit_on_user_error
    with exit_on_user_error():  # a missing teacher checkpoint: one line
        distiller, data = build(args)
    if args.only:
        model = distiller.student if args.only == 'S' else distiller
        optim = torch.optim.SGD(model.parameters(), lr=1e-4)
        for _ in range(args.iters):
            _step(model, model.loss, optim, data)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f'peak_rss_mib={peak:.1f}')
        return
    shape = tuple(data['inputs'].shape)
    print(f'{args.config}: batch {shape}, {torch.get_num_threads()} threads,'
          f' device {args.device}')
    if args.before:
        earlier, _ = build(args)  # the same weights and batch
        earlier_ops(earlier)
        times = speed(distiller, data, args.iters, {'before': (earlier, data)})
        for variant, t in times.items():
            print(f'-- {variant}')
            report_speed(t, teacher_parts(distiller))
        ratio = {v: t['D'] / (t['S'] + t['F']) for v, t in times.items()}
        faster = times['as configured']['D'] / times['before']['D']
        print(f"D / (S + F): before {ratio['before']:.3f}, as configured "
              f"{ratio['as configured']:.3f}; distill step D, as configured "
              f'/ before: {faster:.2f}')
    else:
        report_speed(
            speed(distiller, data, args.iters), teacher_parts(distiller))
    if args.amp:
        amp_agreement(distiller, data, args.iters)
    if args.memory:
        memory(args)


if __name__ == '__main__':
    main()
