"""The text of a distillation config decided by :func:`plan_distillation`,
in the shape of the hand-written ones (``configs/kd/zoo/``): the student's
config and the method's ``configs/_base_/distill/`` files as ``_base_``, a
comment on every choice."""
import os.path as osp
import textwrap
from typing import List

from mmkd.engine.config_check import type_name
from mmkd.utils.config_paths import is_scoped
from mmkd.utils.errors import MissingFileError
from .pairing import METHODS, KDPlan, has_paper_terms

INDENT = '    '


def comment(text: str, indent: str = '') -> List[str]:
    """``text`` as ``# `` lines of at most 79 columns."""
    width = 79 - len(indent) - 2
    return [f'{indent}# {line}' for line in textwrap.wrap(text, width)]


def distill_path(name: str = 'chen2017') -> str:
    """``configs/_base_/distill/<name>.py`` of this checkout."""
    import mmkd
    root = osp.dirname(osp.dirname(osp.abspath(mmkd.__file__)))
    path = osp.join(root, 'configs', '_base_', 'distill', f'{name}.py')
    if not osp.isfile(path):
        raise MissingFileError(
            f'{path}: no such file; the generator needs the configs of an '
            'mmkd source checkout (pip install -e .)')
    return path


def base_entry(name: str, out_dir: str) -> str:
    """A ``_base_`` entry: scoped names as they are, paths relative to the
    written config (as MMEngine reads ``_base_``)."""
    return name if is_scoped(name) else osp.relpath(osp.abspath(name), out_dir)


def header(plan: KDPlan) -> List[str]:
    t, s = plan.teacher, plan.student
    lines = comment(f'Knowledge distillation ({METHODS[plan.method][1]}) '
                    'written by tools/misc/make_kd_config.py:')
    lines += [f'#   teacher {t.name}', f'#   student {s.name}']
    lines += comment('Both detectors were built and their extract_feat '
                     'probed on a 256 x 256 input, levels 0, 1, ...:')
    for det, role in ((t, 'teacher'), (s, 'student')):
        strides = ', '.join(str(lvl.stride) for lvl in det.levels)
        channels = ', '.join(str(lvl.channels) for lvl in det.levels)
        lines += comment(f'  {role}: strides {strides}; channels {channels}')
    from .pairing import seams
    s_roi, t_roi = seams(t, s)
    classes = t_roi.bbox_head(0).num_classes
    heads = ' and '.join(
        sorted({type(roi.head).__name__
                for roi in (t_roi, s_roi)}))
    coders = ('anchors and box coders: see distill_losses below'
              if has_paper_terms(plan.method) else
              'anchors and box coders do not matter, the method distils '
              'features only')
    return lines + comment(
        'Checked: both are two-stage detectors with an RPN and a RoI head '
        f'the distiller drives ({heads}), with {classes} classes (the same '
        'names in the same order where both configs give them); '
        f'{coders}.')


def base_and_scope(plan: KDPlan, out_dir: str) -> List[str]:
    names = METHODS[plan.method][0]
    files = ' and '.join(f'{name}.py' for name in names)
    lines = comment("The student's config gives the data, schedule and "
                    f"runtime; {files} the method's terms and weights.")
    lines += [
        '_base_ = [', f'{INDENT}{base_entry(plan.student.name, out_dir)!r},'
    ]
    lines += [
        f'{INDENT}{osp.relpath(distill_path(name), out_dir)!r},'
        for name in names
    ]
    lines[-1] = lines[-1].rstrip(',')
    lines.append(']')
    if plan.student.cfg.get('default_scope') != 'mmkd':
        lines += comment("mmkd's scope: finds TwoStageDistiller and mmkd's "
                         "modules, and (a child of MMDetection's) every "
                         'MMDetection type.')
        lines.append("default_scope = 'mmkd'")
    return lines


def distill_losses(plan: KDPlan) -> List[str]:
    """The paper's terms a pair cannot use switched off (each with its
    reason), and PKD added for chen2017+pkd; nothing for a method without
    the paper's terms (its base file lists its terms)."""
    if not has_paper_terms(plan.method):
        return []
    by_reason = {}
    for name, why in plan.off.items():
        by_reason.setdefault(why, []).append(name)
    lines = []
    for why, names in by_reason.items():
        lines += comment(f'{", ".join(names)} off: {why}.', INDENT)
    if not plan.off:
        lines = comment(
            "All five terms of the paper apply: the same anchors (the RPN "
            'terms are per anchor) and the same box coding (the bounded '
            'regression compares deltas).', INDENT)
    entries = [f'{name}=None' for name in plan.off]
    if 'pkd' in METHODS[plan.method][0]:
        lines += comment('Plus the PKD term on the hint levels.', INDENT)
        entries.append('pkd=_base_.pkd.distill_losses.pkd')
    if not entries:
        return lines
    return lines + [
        f'{INDENT}distill_losses=dict(',
        f'{INDENT}    _base_.distiller.distill_losses,',
        *(f'{INDENT}    {entry},' for entry in entries[:-1]),
        f'{INDENT}    {entries[-1]}),',
    ]


def hints_and_adapters(plan: KDPlan) -> List[str]:
    num = len(plan.hints)
    total = (f'the {num} levels add up to {num} x its weight'
             if num > 1 else 'one level, one weight')
    lines = comment(
        f'Hint levels: {plan.hint_note}. Each feature term of the method '
        f'applies on each level: {total}. The weights are not tuned for '
        'this pair: choose them on its validation split (chen2017.py says '
        'how for gamma).', INDENT)
    lines.append(f'{INDENT}hint_levels=[')
    lines += [
        f'{INDENT}    ({s.index}, {t.index}),  # stride {s.stride}: '
        f'{s.channels} -> {t.channels} channels' for s, t in plan.hints
    ]
    lines.append(f'{INDENT}],')
    lines += comment(
        'One 1x1 adaptation layer per hint level (in the order of '
        'hint_levels), student -> teacher channels, even where they match '
        "(Chen et al.'s Sec. 3.3); training only.", INDENT)
    lines.append(f'{INDENT}adapters=[')
    lines += [
        f"{INDENT}    dict(type='HintAdapter', in_channels={s.channels}, "
        f'out_channels={t.channels}),' for s, t in plan.hints
    ]
    return lines + [f'{INDENT}])']


def _from_mmdet(plan: KDPlan) -> bool:
    """Whether the student's config names MMDetection's types, where mmkd's
    own configs name mmkd's variants."""
    return plan.student.cfg.get('default_scope') != 'mmkd'


def student_lines(plan: KDPlan) -> List[str]:
    """``student=``: the student's model, with mmkd's AMP-safe RPN head and
    RoI extractor where it has MMDetection's."""
    model = plan.student.cfg.model
    rpn = type_name(model.get('rpn_head')) == 'RPNHead'
    extractor = type_name(
        (model.get('roi_head')
         or {}).get('bbox_roi_extractor')) == 'SingleRoIExtractor'
    if not (_from_mmdet(plan) and (rpn or extractor)):
        return [f'{INDENT}student=_base_.model,']
    lines = comment(
        "The student's model with mmkd's AMP-safe RPN head and RoI "
        'extractor (float32 NMS and RoI pooling under --amp on CPU, '
        "otherwise MMDetection's); named mmkd.* because the student's "
        "dicts keep MMDetection's scope.", INDENT)
    lines += [f'{INDENT}student=dict(', f'{INDENT * 2}_base_.model,']
    if rpn:
        lines.append(f'{INDENT * 2}rpn_head=dict(_base_.model.rpn_head, '
                     "type='mmkd.AmpSafeRPNHead'),")
    if extractor:
        lines += [
            f'{INDENT * 2}roi_head=dict(',
            f'{INDENT * 3}_base_.model.roi_head,',
            f'{INDENT * 3}bbox_roi_extractor=dict(',
            f'{INDENT * 4}_base_.model.roi_head.bbox_roi_extractor,',
            f"{INDENT * 4}type='mmkd.AmpSafeRoIExtractor')),"
        ]
    return lines + [f'{INDENT}),']


def model_lines(plan: KDPlan) -> List[str]:
    names = METHODS[plan.method][0]
    variable = 'distiller' if names[0] == 'chen2017' else names[0]
    lines = [
        'model = dict(',
        f"{INDENT}_base_.{variable},  # the method's terms and weights",
        f'{INDENT}_delete_=True,'
    ]
    lines += student_lines(plan) + [f'{INDENT}teacher={plan.teacher.name!r},']
    lines += comment(f'teacher_ckpt: {plan.ckpt_note}.', INDENT)
    lines.append(f'{INDENT}teacher_ckpt={plan.teacher_ckpt!r},')
    for note in plan.notes:
        lines += comment(f'Note: {note}.', INDENT)
    return lines + distill_losses(plan) + hints_and_adapters(plan)


def _loader_lines(cfg, split: str) -> List[str]:
    """``<split>_dataloader``'s dataset as mmkd's ``CheckedCocoDataset``
    with ``CheckedLoadImageFromFile``, where it is MMDetection's
    ``CocoDataset`` (not inside a dataset wrapper)."""
    dataset = (cfg.get(f'{split}_dataloader') or {}).get('dataset') or {}
    if type_name(dataset) != 'CocoDataset':
        return []
    base = f'_base_.{split}_dataloader.dataset.pipeline'
    lines = [
        f'{split}_dataloader = dict(', f'{INDENT}dataset=dict(',
        f"{INDENT * 2}type='mmkd.CheckedCocoDataset',"
    ]
    pipeline = dataset.get('pipeline') or []
    if pipeline and type_name(pipeline[0]) == 'LoadImageFromFile':
        lines += [
            f'{INDENT * 2}pipeline=[', f'{INDENT * 3}dict(',
            f'{INDENT * 4}{base}[0],',
            f"{INDENT * 4}type='mmkd.CheckedLoadImageFromFile'),",
            f'{INDENT * 3}*{base}[1:]', f'{INDENT * 2}],'
        ]
    return lines + [f'{INDENT}))']


def data_lines(plan: KDPlan) -> List[str]:
    """mmkd's checked dataset and image loading for a student from outside
    mmkd (its own configs name them)."""
    if not _from_mmdet(plan):
        return []
    cfg = plan.student.cfg
    lines = _loader_lines(cfg, 'train') + _loader_lines(cfg, 'val')
    if cfg.get('test_dataloader') == cfg.get('val_dataloader'):
        lines += ['test_dataloader = val_dataloader'] if lines else []
    else:
        lines += _loader_lines(cfg, 'test')
    if not lines:
        return []
    return comment(
        "mmkd's data loading: MMDetection's CocoDataset with checked "
        'annotation files, boxes fitted to their images and images that do '
        'not decode skipped in training (named, and fatal, in testing).'
    ) + lines


def runtime_lines(plan: KDPlan) -> List[str]:
    """mmkd's atomic checkpoints, RNG states and schedule hook, for students
    from outside mmkd (its own configs have them)."""
    cfg = plan.student.cfg
    if not _from_mmdet(plan):
        return []
    hooks = '_base_.custom_hooks + ' if cfg.get('custom_hooks') else ''
    scheduler = type_name(
        (cfg.get('default_hooks')
         or {}).get('param_scheduler')) == 'ParamSchedulerHook'
    lines = comment(
        "mmkd's runtime: checkpoints written atomically and carrying the "
        'random generator states, so that --resume continues as the '
        'uninterrupted run would' +
        ('; the learning-rate schedule holds still on a batch skipped for '
         'non-finite losses (default_hooks.nonfinite.policy=skip).'
         if scheduler else '.'))
    lines.append('default_hooks = dict(')
    if scheduler:
        lines.append(f'{INDENT}param_scheduler=dict('
                     "type='mmkd.SkipAwareParamSchedulerHook'),")
    return lines + [
        f"{INDENT}checkpoint=dict(backend_args=dict(backend="
        "'atomic_local')))",
        f"custom_hooks = {hooks}[dict(type='RNGStateHook')]"
    ]


def render_config(plan: KDPlan, out_path: str) -> str:
    """The config text for a file at ``out_path``."""
    out_dir = osp.dirname(osp.abspath(out_path))
    lines = (
        header(plan) + base_and_scope(plan, out_dir) + model_lines(plan) +
        data_lines(plan) + runtime_lines(plan))
    return '\n'.join(line + '  # noqa: E501' if len(line) > 79 else line
                     for line in lines) + '\n'
