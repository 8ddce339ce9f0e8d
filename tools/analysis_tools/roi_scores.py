"""How trained RoI heads score their own test-time proposals.

    python tools/analysis_tools/roi_scores.py CONFIG CKPT [CKPT ...] \
        [--split val] [--images 200] [--teacher-ckpt CKPT] \
        [--cfg-options k=v ...]

For each checkpoint of CONFIG (a detector, or a distillation config whose
student is loaded), runs the first ``--images`` images of the split and
prints, over the RoI head's probabilities on the proposals its RPN keeps:
the background probability of the positives (IoU >= 0.5 with a
ground-truth box) and of the negatives, the probability of the true class,
the share of positives classified correctly, and the share whose true
class clears the test score threshold (0.05: below it a positive yields no
detection). With a distillation config, ``--teacher-ckpt`` also scores the
teacher on the same proposals. A last line gives the mean over the
checkpoints (e.g. over seeds).
"""
import argparse
import copy
import os.path as osp
import statistics

from mmengine.config import DictAction

COLUMNS = ('p_bg_pos', 'p_true', 'acc_pos', 'kept_pos', 'p_bg_neg',
           'teacher_p_bg_pos', 'teacher_p_true', 'teacher_p_bg_neg')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detector or distillation config')
    parser.add_argument('checkpoints', nargs='+', help='checkpoints')
    parser.add_argument(
        '--split',
        choices=('val', 'test'),
        default='val',
        help='the split whose images are scored (default: val)')
    parser.add_argument(
        '--images', type=int, default=200, help='images (default: 200)')
    parser.add_argument(
        '--teacher-ckpt',
        help='also score the teacher of a distillation config')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='key=value overrides of the config')
    args = parser.parse_args(argv)
    if args.images < 1:
        parser.error(f'--images must be >= 1, got {args.images}')
    for path in args.checkpoints + [args.teacher_ckpt or '']:
        if path and not osp.isfile(path):
            parser.exit(2, f'error: checkpoint {path!r} does not exist\n')
    return args


def load_teacher(cfg, checkpoint):
    """The teacher detector of a distillation config, from ``checkpoint``."""
    from mmkd.analysis.speed import build_deployed
    from mmkd.models.distillers.export import teacher_model_cfg
    teacher = teacher_model_cfg(cfg.model)
    if teacher is None:
        raise SystemExit('error: --teacher-ckpt needs a distillation config; '
                         f'{cfg.filename!r} is a detector config')
    t_cfg = copy.deepcopy(cfg)
    t_cfg.model = teacher
    return build_deployed(t_cfg, checkpoint)


def main(argv=None):
    from mmkd.analysis.inputs import dataset_batches
    from mmkd.analysis.roi_scores import roi_score_stats
    from mmkd.analysis.speed import build_deployed
    from mmkd.utils.config_check import load_config
    from mmkd.utils.errors import exit_on_user_error
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if args.split == 'val':
        cfg.test_dataloader = cfg.val_dataloader
    batches, reason = dataset_batches(cfg, args.images)
    if batches is None:
        raise SystemExit(f'error: cannot read the {args.split} split of '
                         f'{args.config!r} ({reason}); check its data_root')
    batches = batches[:min(args.images, len(batches))]
    with exit_on_user_error():
        teacher = (
            load_teacher(cfg, args.teacher_ckpt)
            if args.teacher_ckpt else None)
        rows = []
        for ckpt in args.checkpoints:
            model = build_deployed(cfg, ckpt)
            rows.append(
                (ckpt, roi_score_stats(model, batches, teacher=teacher)))
    columns = [c for c in COLUMNS if c in rows[0][1]]
    print(f'{args.split} split, {len(batches)} images; positives: IoU >= 0.5'
          ' with a ground-truth box')
    header = ''.join(f'{c:>17}' for c in columns)
    print(f"{'checkpoint':<48}{'pos':>6}{header}")
    for ckpt, stats in rows:
        print(f'{ckpt[-48:]:<48}{stats["positives"]:>6}' +
              ''.join(f'{stats[c]:>17.3f}' for c in columns))
    if len(rows) > 1:
        means = [statistics.fmean(s[c] for _, s in rows) for c in columns]
        print(f"{'mean':<48}{'':>6}" + ''.join(f'{m:>17.3f}' for m in means))
    return rows


if __name__ == '__main__':
    main()
