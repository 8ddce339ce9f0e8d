"""Write a distillation config for a teacher and a student detector.

    python tools/misc/make_kd_config.py TEACHER STUDENT \
        [--method chen2017|fitnets|pkd|cwd|chen2017+pkd] \
        [--teacher-ckpt PATH_OR_URL] [--hint-levels auto|S:T,...] \
        [--out FILE] [--force]

TEACHER and STUDENT are config files or model-zoo names such as
``mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py``. Both detectors are
built (random weights) and probed: feature levels (channels, strides),
anchors, box coders and classes. The config spreads the method's terms and
weights (``--method``: the paper's, configs/_base_/distill/chen2017.py, by
default; or fitnets.py, pkd.py, cwd.py, or chen2017.py plus pkd.py), pairs
every student level with the teacher level of the same stride through a 1x1
adaptation layer, and switches off the RPN and RoI terms a pair cannot use,
with a comment on each choice.
A pair that cannot be distilled is refused with one ``error:`` line, and so
is a teacher with fewer parameters than its student (most likely the two
in the wrong order) unless ``--allow-smaller-teacher`` asks for it (then a
``warning:`` line and a comment in the config say so).
"""
import argparse
import sys

from mmkd.utils.errors import exit_on_user_error
from mmkd.zoo.pairing import METHODS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('teacher', help='teacher config or scope::name')
    parser.add_argument('student', help='student config or scope::name')
    parser.add_argument(
        '--method',
        default='chen2017',
        choices=list(METHODS),
        help="the distillation terms: chen2017 (the paper's five, default), "
        'fitnets (the hint alone), pkd, cwd (the feature terms of Cao et al. '
        '2022 and Shu et al. 2021) or chen2017+pkd')
    parser.add_argument(
        '--teacher-ckpt',
        help='teacher checkpoint path or URL (default: the model-zoo '
        "checkpoint of a zoo teacher, else its training run's last)")
    parser.add_argument(
        '--hint-levels',
        default='auto',
        help='auto (levels of the same stride) or student:teacher pairs '
        'of extract_feat levels, e.g. 0:0,1:1')
    parser.add_argument(
        '--out',
        help='output config (default: work_dirs/kd_configs/'
        'kd_<teacher>_to_<student>[_<method>].py)')
    parser.add_argument(
        '--force', action='store_true', help='overwrite an existing --out')
    parser.add_argument(
        '--allow-smaller-teacher',
        action='store_true',
        help='write the config of a teacher with fewer parameters than the '
        'student (refused otherwise)')
    return parser.parse_args(argv)


def main(argv=None):
    from mmkd.zoo import write_kd_config
    args = parse_args(argv)
    with exit_on_user_error():
        out, plan = write_kd_config(
            args.teacher,
            args.student,
            args.out,
            teacher_ckpt=args.teacher_ckpt,
            hint_levels=args.hint_levels,
            method=args.method,
            force=args.force,
            allow_smaller_teacher=args.allow_smaller_teacher)
    pairs = ', '.join(f'{s.index}:{t.index}' for s, t in plan.hints)
    off = ', '.join(plan.off) or 'none'
    for note in plan.notes:
        if '--allow-smaller-teacher' in note:
            print(f'warning: {note}', file=sys.stderr)
    print(f'wrote {out}: method {args.method}; hint levels {pairs}; terms '
          f'off: {off}')
    return out


if __name__ == '__main__':
    main()
