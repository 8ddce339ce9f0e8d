"""The reproduction's markdown table: mean +- std per row, the share of the
teacher-student gap closed, and each row's paired difference to the row it
is compared with; Mask R-CNN rows get a second table of mask mAP."""
from typing import Dict, Optional

from mmkd.analysis.stats import compare, finished, mean_std

PAPER_WORDS = {'>': 'better', '<': 'worse', '=': 'the same'}
# How a teacher is named in the table, by its config's family.
TEACHER_LABELS = (('mask_rcnn', 'Mask R-CNN teacher'),
                  ('cascade_rcnn', 'Cascade R-CNN teacher'), ('', 'teacher'))


def teacher_label(config: str) -> str:
    return next(label for key, label in TEACHER_LABELS if key in config)


def _difference(rows, row, scores, key):
    """``(vs, difference)`` cells of ``row`` on ``scores[...][key]`` and
    the comparison (None when the row is compared with nothing)."""
    spec = rows[row]
    other = scores.get(spec.baseline) or {}
    if spec.baseline is None or key not in other:
        return '', '', None
    # Paired by seed: a seed fixes the student's initial weights and the
    # data order in every row (the distiller builds its teacher and
    # adapters on a forked random stream).
    cmp = compare(scores[row][key], other[key], paired=True)
    diff = (f"{cmp['diff']:+.3f} [{cmp['low']:+.3f}, {cmp['high']:+.3f}], "
            f"z = {cmp['z']:+.1f}")
    return rows[spec.baseline].label, diff, cmp


def _verdict(paper: Optional[str], cmp: Optional[dict]) -> str:
    """The paper's-direction cell."""
    if cmp is None:
        return ''
    if paper is None:
        return 'not reported'
    outside = cmp['low'] > 0 or cmp['high'] < 0
    if paper == '=':
        word = 'as in the paper' if not outside else 'not'
    else:
        wanted = cmp['diff'] > 0 if paper == '>' else cmp['diff'] < 0
        word = ('as in the paper' if wanted and outside else
                'same direction, within noise' if wanted else 'not')
    return f"{word} ({PAPER_WORDS[paper]}; {cmp['z']:+.1f} sigma)"


def _gap_closed(rows, row, scores, key, teacher_map) -> str:
    alone = scores.get(rows[row].alone) or {}
    if key not in alone or teacher_map is None:
        return ''
    student = mean_std(alone[key])[0]
    if teacher_map <= student:
        return ''
    closed = (mean_std(scores[row][key])[0] - student) / (
        teacher_map - student)
    return f'{closed:.0%}'


def _box_table(rows, scores, teachers: Dict[str, dict], seeds, took):
    boxes = {c: m['coco/bbox_mAP'] for c, m in teachers.items()}
    demo = next((boxes[c] for c in boxes if teacher_label(c) == 'teacher'),
                None)
    said = (f'the teacher (seed 0) scores {demo:.3f}.'
            if demo is not None else "the teachers' scores are the last "
            'rows.')
    lines = [
        f'Test mAP (COCO-style), mean +- std over seeds {seeds}; {said}'
        f'{took} The difference '
        'to the compared row is the mean of the per-seed differences, with '
        'its 95% confidence interval and z (the difference over its '
        'standard error); '
        '"as in the paper" needs the interval to exclude 0 in the '
        "paper's direction.", '',
        '| setting | val mAP | test mAP | gap closed | compared with | '
        'difference [95% CI] | paper\'s direction |',
        '|---|---:|---:|---:|---|---|---|'
    ]
    for row, split_scores in scores.items():
        val_m, val_s = mean_std(split_scores['val'])
        test_m, test_s = mean_std(split_scores['test'])
        closed = _gap_closed(rows, row, scores, 'test',
                             boxes.get(rows[row].teacher))
        vs, diff, cmp = _difference(rows, row, scores, 'test')
        done = len(finished(split_scores['test']))
        seeds_run = len(split_scores['test'])
        failures = ('' if done == seeds_run else
                    f' ({seeds_run - done} of {seeds_run} seeds failed)')
        lines.append(f'| {rows[row].label} | {val_m:.3f} +- {val_s:.3f} | '
                     f'{test_m:.3f} +- {test_s:.3f}{failures} | {closed} | '
                     f'{vs} | {diff} | {_verdict(rows[row].paper, cmp)} |')
    for config, box in boxes.items():
        lines.append(f'| {teacher_label(config)} (seed 0) | | {box:.3f} | '
                     '100% | | | |')
    return lines


def _mask_table(rows, scores, teachers: Dict[str, dict]):
    """Mask mAP of the rows that have it (Mask R-CNN students)."""
    masked = [row for row in scores if 'test_mask' in scores[row]]
    if not masked:
        return []
    masks = {
        c: m['coco/segm_mAP']
        for c, m in teachers.items() if 'coco/segm_mAP' in m
    }
    lines = [
        '', 'Mask mAP (COCO segm) on the test split of the rows with a mask '
        'head, mean +- std over the same seeds, compared as above.', '',
        '| setting | test mask mAP | gap closed | compared with | '
        'difference [95% CI] |', '|---|---:|---:|---|---|'
    ]
    for row in masked:
        mean, std = mean_std(scores[row]['test_mask'])
        closed = _gap_closed(rows, row, scores, 'test_mask',
                             masks.get(rows[row].teacher))
        vs, diff, _ = _difference(rows, row, scores, 'test_mask')
        lines.append(f'| {rows[row].label} | {mean:.3f} +- {std:.3f} | '
                     f'{closed} | {vs} | {diff} |')
    for config, mask in masks.items():
        lines.append(f'| {teacher_label(config)} (seed 0) | {mask:.3f} | '
                     '100% | | |')
    return lines


def ablation_table(rows, scores, teachers, seeds, path, minutes=None) -> str:
    """The tables of ``scores`` for the ``rows`` specs (``Row``), written to
    ``path`` and returned."""
    took = f' This run took {minutes:.0f} min.' if minutes else ''
    lines = _box_table(rows, scores, teachers, seeds, took)
    lines += _mask_table(rows, scores, teachers)
    text = '\n'.join(lines)
    with open(path, 'w') as f:
        f.write(text + '\n')
    return text
