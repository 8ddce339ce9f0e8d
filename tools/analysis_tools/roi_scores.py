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
class clears the RoI head's test score threshold (below it a positive
yields no detection; above it, NMS and the per-image cap still decide).
With a distillation config, ``--teacher-ckpt`` also scores the teacher on
the same proposals, and gives the background probability of the target
the config's RoI classification objective teaches on each positive
(``target_bg_pos``; at T = 1, with the config's mu, class weights and soft
term weight). A last line gives the mean over the
checkpoints (e.g. over seeds). Checkpoints must fit the config exactly.
"""
import argparse
import copy
import os.path as osp
import statistics

from mmengine.config import DictAction

COLUMNS = ('p_bg_pos', 'p_true', 'acc_pos', 'kept_pos', 'p_bg_neg',
           'teacher_p_bg_pos', 'teacher_p_true', 'teacher_p_bg_neg',
           'target_bg_pos')


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


def teacher_cfg(cfg, path):
    """The config of the teacher of a distillation config, or ``error:``."""
    from mmkd.models.distillers.export import teacher_model_cfg
    teacher = teacher_model_cfg(cfg.model)
    if teacher is None:
        raise SystemExit('error: --teacher-ckpt needs a distillation config; '
                         f'{path!r} is a detector config')
    scale = cfg.model.get('teacher_input_scale', 1.0)
    if scale != 1.0:
        raise SystemExit(f'error: teacher_input_scale={scale} in {path!r}: '
                         'the teacher sees other images than the student, '
                         'which --teacher-ckpt does not reproduce; leave it '
                         'out')
    t_cfg = copy.deepcopy(cfg)
    t_cfg.model = teacher
    return t_cfg


def split_batches(cfg, split, num):
    """Up to ``num`` one-image batches of the split (each image once)."""
    from mmkd.analysis.inputs import dataset_batches
    if split == 'val':
        cfg.test_dataloader = cfg.val_dataloader
    batches, reason = dataset_batches(cfg, num, repeat=False)
    if batches is None:
        raise SystemExit(f'error: cannot read the {split} split of '
                         f'{cfg.filename!r} ({reason}); check its data_root')
    return batches


def main(argv=None):
    from mmkd.analysis.roi_scores import distiller_objective, roi_score_stats
    from mmkd.analysis.speed import build_deployed
    from mmkd.engine.config_check import load_config
    from mmkd.models.distillers.export import deployed_model_cfg
    from mmkd.utils.errors import exit_on_user_error
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    t_cfg = teacher_cfg(cfg, args.config) if args.teacher_ckpt else None
    score_thr = deployed_model_cfg(cfg.model).get('test_cfg', {}).get(
        'rcnn', {}).get('score_thr', 0.05)
    batches = split_batches(cfg, args.split, args.images)
    with exit_on_user_error():  # a checkpoint that does not fit: `error:`
        teacher = (
            build_deployed(t_cfg, args.teacher_ckpt, strict=True)
            if t_cfg else None)
        rows = []
        for ckpt in args.checkpoints:
            model = build_deployed(cfg, ckpt, strict=True)
            stats = roi_score_stats(
                model,
                batches,
                score_thr=score_thr,
                teacher=teacher,
                objective=distiller_objective(cfg.model) if teacher else None)
            rows.append((ckpt, stats))
    columns = [c for c in COLUMNS if c in rows[0][1]]
    print(f'{args.split} split, {len(batches)} images; positives: IoU >= 0.5'
          f' with a ground-truth box; score threshold {score_thr}')
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
