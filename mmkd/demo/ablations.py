"""The miniature reproduction: the demo setting over several seeds and the
paper's ablations, as a markdown table of mean +- std mAP.

    python tools/analysis_tools/reproduce_ablations.py \
        [--seeds 0 1 2] [--rows full student ...] [--work-dir DIR]

Every run goes through ``tools/train.py`` / ``tools/test.py`` with the demo
configs; each ablation is the distillation config with ``--cfg-options``
switching terms off. One teacher is trained (seed 0) and shared by all rows;
choices are made on the validation split and the table reports the test
split. A finished run is reused, so an interrupted reproduction continues.
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time

from .pipeline import MODES, RUNS, data_options, run, train
from .report import read_json_lines, val_curve

TEACHER, STUDENT, DISTILLED = (config for _, config in RUNS)
L2_REG = DISTILLED.replace('.py', '_l2reg.py')
OFF = 'None'
# row name: (description, config, cfg-options on top of the data options)
ROWS = {
    'student': ('student alone', STUDENT, []),
    'hint': ('hint only', DISTILLED, [
        f'model.distill_losses.{t}={OFF}'
        for t in ('rpn_kd', 'rcn_kd', 'rpn_reg', 'rcn_reg')
    ]),
    'kd': ('KD (classification) only', DISTILLED, [
        f'model.distill_losses.{t}={OFF}'
        for t in ('rpn_reg', 'rcn_reg', 'hint')
    ]),
    'kd_reg': ('KD + bounded regression', DISTILLED,
               [f'model.distill_losses.hint={OFF}']),
    'full': ('full method', DISTILLED, []),
    'unweighted': ('full, plain (unweighted) cross-entropy', DISTILLED, [
        'model.distill_losses.rpn_kd.bg_weight=1.0',
        'model.distill_losses.rcn_kd.bg_weight=1.0'
    ]),
    'l2_reg': ('full, plain L2 regression distillation', L2_REG, []),
}
# Without the adaptation layer the hint needs equal channels; the demo's
# student has 16 FPN channels and its teacher 64, so that row is not run.
NOT_RUN = {
    'no_adapter': 'full, no adaptation layer: n/a (16 vs 64 '
    'channels)'
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--rows', nargs='+', default=list(ROWS), choices=list(ROWS))
    parser.add_argument('--work-dir', default='work_dirs/reproduction')
    parser.add_argument(
        '--data-root',
        default=MODES['full']['data'],
        help='the demo dataset (generated if absent)')
    parser.add_argument(
        '--teacher-ckpt',
        default=None,
        help='use this teacher (e.g. the demo\'s, '
        'work_dirs/demo/teacher/epoch_4.pth) instead of '
        'training one with seed 0')
    parser.add_argument(
        '--extra',
        nargs='*',
        default=[],
        help='more --cfg-options for every run')
    return parser.parse_args(argv)


def val_map(run_dir):
    """Validation mAP after the last epoch, from the training log (the
    schedule validates every epoch)."""
    curve = val_curve(run_dir)
    if not curve:
        raise SystemExit(f'no validation mAP in the logs under {run_dir}')
    return curve[-1][1]


def test_map(config, ckpt, out_dir, options):
    """Test-split mAP of ``ckpt``, via tools/test.py (kept in
    ``OUT_DIR/test.json``, so a rerun does not test again)."""
    result = osp.join(out_dir, 'test.json')
    if not osp.isfile(result):
        run([
            sys.executable, 'tools/test.py', config, ckpt, '--work-dir',
            osp.join(out_dir, 'test'), '--cfg-options', *options
        ])
        logs = osp.join(out_dir, 'test', '*', '*.json')
        lines = [x for x in read_json_lines(logs) if 'coco/bbox_mAP' in x]
        # CocoMetric logs nothing for a model that detects nothing.
        with open(result, 'w') as f:
            json.dump(lines[-1] if lines else {'coco/bbox_mAP': 0.0}, f)
    with open(result) as f:
        return json.load(f)['coco/bbox_mAP']


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root)
    start = time.time()
    run([
        sys.executable, 'tools/dataset_converters/generate_synthetic.py',
        '--out', data_root, *MODES['full']['generate']
    ])
    base = data_options(data_root) + args.extra
    if args.teacher_ckpt:
        if not osp.isfile(args.teacher_ckpt):
            raise SystemExit(f'--teacher-ckpt {args.teacher_ckpt}: no such '
                             'file; train the teacher (tools/demo.py) or '
                             'leave the option out to train one here')
        teacher = osp.abspath(args.teacher_ckpt)
        teacher_dir = osp.join(work_dir, 'teacher_given')
    else:
        teacher_dir = osp.join(work_dir, 'teacher_seed0')
        teacher = train('teacher', TEACHER, teacher_dir,
                        base + ['randomness.seed=0'], False)
    scores = {}
    for row in args.rows:
        _, config, options = ROWS[row]
        for seed in args.seeds:
            run_dir = osp.join(work_dir, f'{row}_seed{seed}')
            opts = base + options + [f'randomness.seed={seed}']
            if config != STUDENT:
                opts.append(f'model.teacher_ckpt={teacher}')
            ckpt = train(row, config, run_dir, opts, False)
            scores.setdefault(row, {'val': [], 'test': []})
            scores[row]['val'].append(val_map(run_dir))
            scores[row]['test'].append(test_map(config, ckpt, run_dir, base))
    t_test = test_map(TEACHER, teacher, teacher_dir, base)
    minutes = (time.time() - start) / 60
    print(
        write_table(scores, t_test, args.seeds,
                    osp.join(work_dir, 'ablations.md'), minutes))


def _mean_std(values):
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), std


def write_table(scores, teacher_map, seeds, path, minutes=None):
    took = f' This run took {minutes:.0f} min.' if minutes else ''
    lines = [
        f'Test mAP (COCO-style), mean +- std over seeds {seeds}; the '
        f'teacher (seed 0) scores {teacher_map:.3f}.{took}', '',
        '| setting | val mAP | test mAP | gap closed |', '|---|---:|---:|---:|'
    ]
    student = _mean_std(scores['student']['test'])[0] \
        if 'student' in scores else None
    for row, split_scores in scores.items():
        val_m, val_s = _mean_std(split_scores['val'])
        test_m, test_s = _mean_std(split_scores['test'])
        closed = ''
        if student is not None and teacher_map > student:
            closed = f'{(test_m - student) / (teacher_map - student):.0%}'
        lines.append(f'| {ROWS[row][0]} | {val_m:.3f} +- {val_s:.3f} | '
                     f'{test_m:.3f} +- {test_s:.3f} | {closed} |')
    lines += [f'| {text} | | | |' for text in NOT_RUN.values()]
    text = '\n'.join(lines)
    with open(path, 'w') as f:
        f.write(text + '\n')
    return text


if __name__ == '__main__':
    main()
