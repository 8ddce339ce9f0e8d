"""The miniature reproduction: the demo setting over several seeds and the
paper's ablations, as a markdown table of mean +- std mAP.

    python tools/analysis_tools/reproduce_ablations.py \
        [--seeds 0 1 2] [--rows full student ...] [--work-dir DIR] \
        [--teacher-ckpt CKPT] [--jobs 2]

Every run goes through ``tools/train.py`` / ``tools/test.py`` with the demo
configs; each ablation is the distillation config with ``--cfg-options``
switching terms off. Each teacher is trained once (seed 0) and shared by
the rows it teaches (the demo's Faster R-CNN, and for the named family rows
a Mask R-CNN and a Cascade R-CNN); choices are made on the validation split
and the table reports the test split (Mask R-CNN rows: box and mask mAP). A
finished run is reused, so an interrupted reproduction continues.
"""
import argparse
import json
import os.path as osp
import sys
import time
from typing import NamedTuple, Optional

from .ablation_table import ablation_table
from .jobs import Job, run_jobs
from .pipeline import MODES, RUNS, check_outputs, data_options, run, train
from .report import read_json_lines, val_curve

TEACHER, STUDENT, DISTILLED = (config for _, config in RUNS)
L2_REG = DISTILLED.replace('.py', '_l2reg.py')
# A student twice as wide (0.98M parameters against 0.25M): how the share
# of the gap closed depends on the student's capacity.
STUDENT_W16 = STUDENT.replace('r18w8', 'r18w16')
DISTILLED_W16 = DISTILLED.replace('r18w8', 'r18w16')
# Other RoI-head families on the same data and trunks: Mask R-CNN teacher,
# student and distilled student (box and mask mAP); the demo's Faster R-CNN
# student distilled by a Cascade R-CNN teacher.
MASK_TEACHER = 'configs/mask_rcnn/mask_rcnn_r18w32_synthetic.py'
MASK_STUDENT = 'configs/mask_rcnn/mask_rcnn_r18w8_synthetic.py'
MASK_DISTILLED = 'configs/kd/mask_rcnn_r18w32_r18w8_synthetic.py'
CASCADE_TEACHER = 'configs/cascade_rcnn/cascade_rcnn_r18w32_synthetic.py'
CASCADE_DISTILLED = 'configs/kd/cascade_r18w32_frcnn_r18w8_synthetic.py'
T2 = ['model.distill_losses.rpn_kd.T=2.0', 'model.distill_losses.rcn_kd.T=2.0']
TERMS = ('rpn_kd', 'rpn_reg', 'rcn_kd', 'rcn_reg', 'hint')


def _off(*terms):
    return [f'model.distill_losses.{t}=None' for t in terms]


class Row(NamedTuple):
    """One setting: its label, config and ``--cfg-options``; the row it is
    compared with and the direction the paper reports for that comparison
    (``'>'`` better, ``'<'`` worse, ``'='`` no change by construction,
    ``None`` not reported); the row of the same student trained alone,
    from which the share of the teacher-student gap is counted; and the
    teacher's config (of a distilled row)."""
    label: str
    config: str
    options: list
    baseline: Optional[str] = None
    paper: Optional[str] = None
    alone: str = 'student'
    teacher: str = TEACHER


ROWS = {
    'student':
    Row('student alone', STUDENT, []),
    # The distiller's data flow with nothing distilled: must match the
    # student alone (same schedule, same data), or the comparison is unfair.
    'control':
    Row('distiller, every term off (control)', DISTILLED, _off(*TERMS),
        'student', '='),
    'hint':
    Row('hint only', DISTILLED, _off('rpn_kd', 'rcn_kd', 'rpn_reg', 'rcn_reg'),
        'student', '>'),
    'kd':
    Row('KD only (weighted cross-entropy)', DISTILLED,
        _off('rpn_reg', 'rcn_reg', 'hint'), 'student', '>'),
    'kd_plain':
    Row(
        'KD only, plain cross-entropy (w_bg = 1)', DISTILLED,
        _off('rpn_reg', 'rcn_reg', 'hint') + [
            'model.distill_losses.rpn_kd.bg_weight=1.0',
            'model.distill_losses.rcn_kd.bg_weight=1.0'
        ], 'kd', '<'),
    'kd_bounded':
    Row('KD + bounded regression', DISTILLED, _off('hint'), 'kd', '>'),
    'kd_l2':
    Row('KD + plain L2 regression', L2_REG, _off('hint'), 'kd_bounded', '<'),
    'full':
    Row('full method (KD + bounded + hint)', DISTILLED, [], 'kd_bounded', '>'),
    # No adaptation layer: the 16 student channels repeated over blocks of
    # 4 of the teacher's 64 (FixedChannelMap, nothing learned).
    'no_adapter':
    Row('full, no adaptation layer (fixed channel map)', DISTILLED,
        ['model.adapters.0.type=FixedChannelMap'], 'full', '<'),
    'full_t2':
    Row('full, temperature T = 2', DISTILLED, T2, 'full', None),
    'student_w16':
    Row('half-width student alone', STUDENT_W16, [], alone='student_w16'),
    'full_w16':
    Row('full method, half-width student', DISTILLED_W16, [], 'student_w16',
        '>', 'student_w16'),
    'full_w16_t2':
    Row('full, half-width student, T = 2', DISTILLED_W16, T2, 'full_w16', None,
        'student_w16'),
    # Mask R-CNN: the paper's terms on the box side, the student's mask
    # head on its own loss (and, beyond the paper, with mask KD).
    'mask_student':
    Row('Mask R-CNN student alone',
        MASK_STUDENT, [],
        alone='mask_student',
        teacher=MASK_TEACHER),
    'mask_full':
    Row('Mask R-CNN, full method', MASK_DISTILLED, [], 'mask_student', '>',
        'mask_student', MASK_TEACHER),
    'mask_full_mask_kd':
    Row('Mask R-CNN, full method + mask KD',
        MASK_DISTILLED.replace('.py', '_mask_kd.py'), [], 'mask_full', None,
        'mask_student', MASK_TEACHER),
    # The same Faster R-CNN student, a Cascade R-CNN teacher (soft targets:
    # the cascade's test-time ensemble; bound: its stage 0).
    'cascade_full':
    Row('full method, Cascade R-CNN teacher', CASCADE_DISTILLED, [], 'full',
        None, 'student', CASCADE_TEACHER),
}
# Rows run only when named: a student twice as wide, other RoI-head
# families (each family's teacher is trained only when one of its rows
# runs).
NAMED_ROWS = ('student_w16', 'full_w16', 'full_w16_t2', 'mask_student',
              'mask_full', 'mask_full_mask_kd', 'cascade_full')
# The paper's ablations, run when --rows is not given.
DEFAULT_ROWS = [row for row in ROWS if row not in NAMED_ROWS]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument(
        '--rows',
        nargs='+',
        default=DEFAULT_ROWS,
        choices=list(ROWS),
        help='default: the paper\'s ablations; run only when named: the '
        '*_w16 rows (a student twice as wide), the mask_* rows (Mask R-CNN, '
        'box and mask mAP) and cascade_full (a Cascade R-CNN teacher)')
    parser.add_argument('--work-dir', default='work_dirs/reproduction')
    parser.add_argument(
        '--data-root',
        default=MODES['full']['data'],
        help='the demo dataset (generated if absent)')
    parser.add_argument(
        '--teacher-ckpt',
        default=None,
        help='use this Faster R-CNN teacher (e.g. the demo\'s, '
        'work_dirs/demo/teacher/epoch_12.pth) instead of '
        'training one with seed 0 (the other families\' teachers are '
        'trained here)')
    parser.add_argument(
        '--extra',
        nargs='*',
        default=[],
        help='more --cfg-options for every run')
    parser.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='runs trained at once, each with CPUs/JOBS torch threads and '
        'its output in WORK_DIR/logs/ (2 on 2 CPU cores: about 1.8x the '
        'runs per hour of one at a time)')
    args = parser.parse_args(argv)
    # A row or seed given twice would train twice into one folder.
    args.rows = list(dict.fromkeys(args.rows))
    args.seeds = list(dict.fromkeys(args.seeds))
    if args.jobs < 1:
        parser.error(f'--jobs {args.jobs}: give 1 or more')
    return args


def val_map(run_dir):
    """Validation mAP after the last epoch, from the training log (the
    schedule validates every epoch)."""
    curve = val_curve(run_dir)
    if not curve:
        raise SystemExit(f'no validation mAP in the logs under {run_dir}')
    return curve[-1][1]


def test_metrics(config, ckpt, out_dir, options, env=None, log=None):
    """Test-split metrics of ``ckpt`` (``coco/bbox_mAP``, and
    ``coco/segm_mAP`` for a mask model), via tools/test.py (kept in
    ``OUT_DIR/test.json``, so a rerun does not test again)."""
    result = osp.join(out_dir, 'test.json')
    if not osp.isfile(result):
        run([
            sys.executable, 'tools/test.py', config, ckpt, '--work-dir',
            osp.join(out_dir, 'test'), '--cfg-options', *options
        ],
            env=env,
            log=log)
        logs = osp.join(out_dir, 'test', '*', '*.json')
        lines = [x for x in read_json_lines(logs) if 'coco/bbox_mAP' in x]
        # CocoMetric logs nothing for a model that detects nothing.
        with open(result, 'w') as f:
            json.dump(lines[-1] if lines else {'coco/bbox_mAP': 0.0}, f)
    with open(result) as f:
        return json.load(f)


def test_map(config, ckpt, out_dir, options, env=None, log=None):
    """Test-split box mAP of ``ckpt`` (see :func:`test_metrics`)."""
    return test_metrics(config, ckpt, out_dir, options, env,
                        log)['coco/bbox_mAP']


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root)
    check_outputs(work_dir, data_root)
    start = time.time()
    run([
        sys.executable, 'tools/dataset_converters/generate_synthetic.py',
        '--out', data_root, *MODES['full']['generate']
    ])
    base = data_options(data_root) + args.extra
    teachers = _teachers(args, work_dir, base)
    runs = [(row, seed) for row in args.rows for seed in args.seeds]
    results = run_all(
        runs, args.jobs, lambda row, seed, env, log: _one_run(
            row, seed, work_dir, base, teachers, env, log), work_dir)
    scores = {}
    for row, seed in runs:
        val, test, *mask = results[row, seed]
        scores.setdefault(row, {'val': [], 'test': []})
        scores[row]['val'].append(val)
        scores[row]['test'].append(test)
        if mask and mask[0] is not None:
            scores[row].setdefault('test_mask', []).append(mask[0])
    teacher_scores = {
        config: test_metrics(config, ckpt, run_dir, base)
        for config, (ckpt, run_dir) in teachers.items()
    }
    minutes = (time.time() - start) / 60
    print(
        write_table(scores, teacher_scores, args.seeds,
                    osp.join(work_dir, 'ablations.md'), minutes))


def _teachers(args, work_dir, base):
    """``{teacher config: (checkpoint, run folder)}`` of the teachers the
    rows need: given (--teacher-ckpt, the demo's Faster R-CNN), else
    trained here with seed 0."""
    # a row trained alone needs its family's teacher for the gap closed
    needed = dict.fromkeys(ROWS[row].teacher for row in args.rows)
    teachers = {}
    for config in needed:
        if config == TEACHER and args.teacher_ckpt:
            if not osp.isfile(args.teacher_ckpt):
                raise SystemExit(
                    f'--teacher-ckpt {args.teacher_ckpt}: no such file; '
                    'train the teacher (tools/demo.py) or leave the option '
                    'out to train one here')
            teachers[config] = (osp.abspath(args.teacher_ckpt),
                                osp.join(work_dir, 'teacher_given'))
            continue
        name = osp.splitext(osp.basename(config))[0]
        run_dir = osp.join(
            work_dir,
            'teacher_seed0' if config == TEACHER else f'teacher_{name}_seed0')
        teachers[config] = (train(f'teacher {name}', config, run_dir,
                                  base + ['randomness.seed=0'],
                                  False), run_dir)
    return teachers


def _one_run(row, seed, work_dir, base, teachers, env, log):
    """Train (or reuse) one row with one seed: ``(val mAP, test mAP, test
    mask mAP or None)``; ``teachers`` maps a teacher config to its
    checkpoint (or to ``(checkpoint, run folder)``)."""
    config, options = ROWS[row].config, ROWS[row].options
    run_dir = osp.join(work_dir, f'{row}_seed{seed}')
    opts = base + options + [f'randomness.seed={seed}']
    if ROWS[row].alone != row:  # a distilled row
        teacher = teachers[ROWS[row].teacher]
        ckpt = teacher[0] if isinstance(teacher, tuple) else teacher
        opts.append(f'model.teacher_ckpt={ckpt}')
    ckpt = train(row, config, run_dir, opts, False, env=env, log=log)
    # Tested with the options it trained with: the row's switched-off terms
    # (and their adapters) are not in its checkpoint.
    metrics = test_metrics(config, ckpt, run_dir, opts, env, log)
    return (val_map(run_dir), metrics['coco/bbox_mAP'],
            metrics.get('coco/segm_mAP'))


def run_all(runs, jobs, one, work_dir):
    """``{(row, seed): one(row, seed, env, log)}`` for every run, ``jobs``
    at a time (``mmkd.demo.jobs``).

    One at a time, each tool streams to the terminal and keeps the
    machine's threads. With ``jobs > 1`` every run gets
    ``OMP_NUM_THREADS = CPUs // jobs`` (unless it is set) and its output in
    ``WORK_DIR/logs/ROW_seedN.log``. A failed run does not stop the others,
    and the failures are named together at the end (the finished runs are
    kept, so a rerun continues).
    """

    def job(row, seed):

        def fn(env, log):
            result = one(row, seed, env, log)
            if log is not None:  # the tool's own output went to the log
                print(
                    f'[reproduce] {row} seed {seed}: val {result[0]:.3f}, '
                    f'test {result[1]:.3f}',
                    flush=True)
            return result

        return Job(f'{row}_seed{seed}', fn)

    results = run_jobs([job(row, seed) for row, seed in runs],
                       jobs,
                       osp.join(work_dir, 'logs'),
                       prefix='[reproduce]',
                       keep_going=True)
    return {(row, seed): results[f'{row}_seed{seed}'] for row, seed in runs}


def write_table(scores, teachers, seeds, path, minutes=None):
    """The markdown table of ``scores`` (``{row: {'val': [...], 'test':
    [...], 'test_mask': [...] for mask rows}}``), written to ``path`` and
    returned; ``teachers`` maps each teacher config to its test metrics
    (a number: the demo teacher's box mAP)."""
    if not isinstance(teachers, dict):
        teachers = {TEACHER: {'coco/bbox_mAP': teachers}}
    return ablation_table(ROWS, scores, teachers, seeds, path, minutes)


if __name__ == '__main__':
    main()
