"""Tucker-2 decompose the backbone convs of a trained detector.

Kim et al., "Compression of Deep Convolutional Neural Networks for Fast and
Low Power Mobile Applications" (ICLR 2016): each kxk conv becomes 1x1 ->
kxk core -> 1x1 (HOSVD along the channel modes); ranks are given, or chosen
per layer by an energy threshold or by EVBMF. Writes ``OUT_DIR/<name>_tucker
.py`` (the config with ``backbone.tucker_ranks``) and ``<name>_tucker.pth``,
and prints parameters and FLOPs before / after.

Example::

    python tools/model_converters/tucker_decompose.py \
        configs/faster_rcnn/frcnn_vgg16_voc.py work_dirs/vgg16.pth \
        work_dirs/tucker --method vbmf
    python tools/model_converters/tucker_decompose.py CFG CKPT OUT \
        --ranks conv2_1=32,64 conv3_1=64,96 --layers conv2_1 conv3_1
"""
import argparse
import os.path as osp

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmkd.engine.checkpoint import atomic_torch_save
from mmkd.models.tucker.detector import (choose_ranks, decomposable_convs,
                                         decompose_state_dict,
                                         decomposed_model_cfg)
from mmkd.registry import MODELS
from mmkd.utils.errors import exit_on_user_error
from mmkd.utils.output_paths import check_output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detector config')
    parser.add_argument('checkpoint', help='trained detector checkpoint')
    parser.add_argument('out_dir', help='where the config + checkpoint go')
    parser.add_argument(
        '--layers',
        nargs='+',
        help='convs to decompose '
        '(default: every kxk conv but the first)')
    parser.add_argument(
        '--ranks',
        nargs='+',
        default=[],
        metavar='CONV=R_IN,R_OUT',
        help='fixed ranks')
    parser.add_argument(
        '--method',
        choices=['energy', 'vbmf'],
        default='energy',
        help='rank selection of the rest')
    parser.add_argument(
        '--energy',
        type=float,
        default=0.9,
        help='kept share of squared singular values')
    parser.add_argument(
        '--hooi-iters', type=int, default=0, help='HOOI sweeps after HOSVD')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[600, 1000],
        metavar=('H', 'W'),
        help='input size for FLOPs')
    parser.add_argument(
        '--no-flops', action='store_true', help='skip the (slow) FLOP count')
    return parser.parse_args(argv)


def parse_ranks(items):
    """``['conv2_1=16,32']`` -> ``{'conv2_1': (16, 32)}``."""
    ranks = {}
    for item in items:
        name, sep, value = item.partition('=')
        try:
            r_in, r_out = (int(v) for v in value.split(','))
        except ValueError:
            sep = ''
        if not sep:
            raise SystemExit(f'--ranks expects CONV=R_IN,R_OUT (e.g. '
                             f'conv2_1=16,32), got {item!r}.')
        ranks[name] = (r_in, r_out)
    return ranks


def build_detector(model_cfg, checkpoint=None):
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.eval()


def print_complexity(before, after, shape):
    from mmkd.analysis.flops import detector_complexity
    stats = [detector_complexity(m, shape) for m in (before, after)]
    for label, key in (('params', 'params'), ('FLOPs', 'flops')):
        b, a = stats[0][key], stats[1][key]
        print(f'{label} @ {shape[0]}x{shape[1]}: {b / 1e6:.2f}M -> '
              f'{a / 1e6:.2f}M ({a / b:.1%})')


def main(argv=None):
    args = parse_args(argv)
    with exit_on_user_error():
        check_output(args.out_dir, 'OUT_DIR', folder=True)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmkd'))
    model = build_detector(cfg.model, args.checkpoint)
    convs = decomposable_convs(model.backbone, args.layers)
    ranks = choose_ranks(convs, args.method, args.energy,
                         parse_ranks(args.ranks))
    state, report = decompose_state_dict(
        model.state_dict(), convs, ranks, n_iter=args.hooi_iters)
    for name, r in report.items():
        print(f"{name}: {r['shape']} ranks {r['ranks']} params "
              f"{r['params_before']} -> {r['params_after']} "
              f"rel. error {r['rel_error']:.4f}")
    stem = osp.splitext(osp.basename(args.config))[0] + '_tucker'
    ckpt_path = osp.abspath(osp.join(args.out_dir, stem + '.pth'))
    cfg.model = decomposed_model_cfg(cfg.model, ranks, ckpt_path)
    decomposed = build_detector(cfg.model)
    decomposed.load_state_dict(state, strict=True)
    atomic_torch_save(
        dict(
            state_dict=state,
            meta=dict(
                source=args.checkpoint,
                config=args.config,
                tucker_ranks={
                    k: list(v)
                    for k, v in ranks.items()
                })), ckpt_path)
    cfg.dump(osp.join(args.out_dir, stem + '.py'))
    print(f'wrote {ckpt_path} and {stem}.py')
    if not args.no_flops:
        print_complexity(model, decomposed, tuple(args.shape))


if __name__ == '__main__':
    main()
