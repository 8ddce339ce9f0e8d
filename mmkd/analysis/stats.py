"""Small-sample statistics for comparing training runs over seeds.

Two settings trained with the same seeds are compared by the difference of
their means with a 95% confidence interval. Paired (the default of the
reproduction): with a given seed every setting starts from the same student
weights and sees the data in the same order, so the per-seed differences are
what varies (Student t, ``n - 1`` degrees of freedom). Unpaired: Welch's
interval (unequal variances). ``z`` is the difference in units of its
standard error: the interval excludes 0 exactly when ``|z|`` exceeds the
t quantile.
"""
import math
import statistics
from typing import Dict, Sequence

# Two-sided 95% quantiles of Student's t, t_{0.975}(df), df = 1 ... 30.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: float) -> float:
    """``t_{0.975}`` for ``df`` degrees of freedom (rounded down, so the
    interval is never narrower than the exact one; 1.96 beyond 30)."""
    if df < 1:
        raise ValueError(f'df={df} must be >= 1')
    return _T975[int(df) - 1] if df < 31 else 1.96


def failed(score: float) -> bool:
    """A failed run (diverged, stopped) scores NaN."""
    return score != score


def finished(values: Sequence[float]) -> list:
    """The scores of the runs that finished: a failed run's NaN is left out
    of every statistic here."""
    return [v for v in values if not failed(v)]


def mean_std(values: Sequence[float]) -> tuple:
    """Mean and sample standard deviation (0 for a single value) of the
    finished runs (NaN, NaN when none finished)."""
    values = finished(values)
    if not values:
        return math.nan, math.nan
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), std


def compare(a: Sequence[float],
            b: Sequence[float],
            paired: bool = False) -> Dict[str, float]:
    """``mean(a) - mean(b)`` with its 95% interval and ``z``.

    Args:
        a, b: the scores of the two settings (per seed, in the same seed
            order when ``paired``).
        paired (bool): compare seed by seed (``a[i]`` with ``b[i]``).

    Returns:
        dict: ``diff``, ``low``, ``high`` (the interval), ``se`` (standard
        error of the difference), ``z`` (``diff / se``; ``inf`` when both
        spreads are 0) and ``df``. With fewer than two values on a side the
        interval is unbounded. A failed run's score (NaN) is left out;
        paired, so is its seed on the other side.
    """
    if paired:
        if len(a) != len(b):
            raise ValueError(f'paired comparison of {len(a)} and {len(b)} '
                             'scores; give one score per seed on each side')
        # the seeds where both runs finished
        return _one_sample(finished([x - y for x, y in zip(a, b)]))
    a, b = finished(a), finished(b)
    (mean_a, std_a), (mean_b, std_b) = mean_std(a), mean_std(b)
    diff = mean_a - mean_b
    if len(a) < 2 or len(b) < 2:
        return dict(
            diff=diff,
            low=-math.inf,
            high=math.inf,
            se=math.inf,
            z=0.0,
            df=0.0)
    var_a, var_b = std_a**2 / len(a), std_b**2 / len(b)
    se = math.sqrt(var_a + var_b)
    if se == 0:
        return dict(
            diff=diff,
            low=diff,
            high=diff,
            se=0.0,
            z=math.copysign(math.inf, diff) if diff else 0.0,
            df=float(len(a) + len(b) - 2))
    # Welch-Satterthwaite degrees of freedom
    df = (var_a + var_b)**2 / (
        var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    half = t975(df) * se
    return dict(
        diff=diff,
        low=diff - half,
        high=diff + half,
        se=se,
        z=diff / se,
        df=df)


def _one_sample(diffs: Sequence[float]) -> Dict[str, float]:
    """Mean of ``diffs`` with its 95% Student-t interval."""
    diff, std = mean_std(diffs)
    n = len(diffs)
    if n < 2:
        return dict(
            diff=diff,
            low=-math.inf,
            high=math.inf,
            se=math.inf,
            z=0.0,
            df=0.0)
    se = std / math.sqrt(n)
    if se < 1e-12 * max(1.0, abs(diff)):  # equal differences (rounding)
        return dict(
            diff=diff,
            low=diff,
            high=diff,
            se=0.0,
            z=math.copysign(math.inf, diff) if diff else 0.0,
            df=float(n - 1))
    half = t975(n - 1) * se
    return dict(
        diff=diff,
        low=diff - half,
        high=diff + half,
        se=se,
        z=diff / se,
        df=float(n - 1))
