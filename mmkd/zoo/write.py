"""Writing a generated distillation config (``make_kd_config.py``)."""
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config

from mmkd.utils.errors import ConfigError
from mmkd.utils.output_paths import check_output
from .pairing import KDPlan, plan_distillation
from .render import render_config


def default_out(teacher: str, student: str, method: str = 'chen2017') -> str:
    """``work_dirs/kd_configs/kd_<teacher>_to_<student>.py``, with
    ``_<method>`` before ``.py`` for a method other than chen2017 (``+``
    written ``-``)."""
    stem = [
        osp.splitext(osp.basename(name.split('::')[-1]))[0]
        for name in (teacher, student)
    ]
    suffix = '' if method == 'chen2017' else '_' + method.replace('+', '-')
    return osp.join('work_dirs', 'kd_configs',
                    f'kd_{stem[0]}_to_{stem[1]}{suffix}.py')


def write_kd_config(teacher: str,
                    student: str,
                    out: Optional[str] = None,
                    *,
                    teacher_ckpt: Optional[str] = None,
                    hint_levels: str = 'auto',
                    method: str = 'chen2017',
                    force: bool = False,
                    allow_smaller_teacher: bool = False) -> Tuple[str, KDPlan]:
    """Decide, write (atomically) and re-read the config of a pair.

    Args:
        teacher, student (str): Config paths or ``scope::`` names.
        out (str, optional): Output file; :func:`default_out` by default.
        teacher_ckpt (str, optional): Path or URL; by default the model-zoo
            checkpoint of a zoo teacher, else its training run's last one.
        hint_levels (str): ``'auto'`` or ``'S:T,S:T'``.
        method (str): ``chen2017`` (the paper's five terms), ``fitnets``,
            ``pkd``, ``cwd`` or ``chen2017+pkd`` (``pairing.METHODS``).
        force (bool): Overwrite an existing ``out``.
        allow_smaller_teacher (bool): Write the config of a teacher with
            fewer parameters than the student (refused otherwise).

    Returns:
        tuple[str, KDPlan]: The written file and the decisions.

    Raises:
        ConfigError: the pair cannot be distilled, or ``out`` exists or
            cannot be written.
    """
    from mmkd.engine.atomic_backend import atomic_write
    out = out or default_out(teacher, student, method)
    if osp.exists(out) and not force:
        raise ConfigError(f'--out {out!r} exists; pass --force to overwrite '
                          'it or choose another --out')
    check_output(out, '--out')  # before both detectors are built
    plan = plan_distillation(teacher, student, teacher_ckpt, hint_levels,
                             allow_smaller_teacher, method)
    atomic_write(render_config(plan, out).encode(), out)
    Config.fromfile(out)  # what was written reads back as a config
    return out, plan
