"""mmkd.analysis.stats: Welch intervals worked out by hand."""
import math

import pytest

from mmkd.analysis.stats import compare, mean_std, t975


def test_mean_std():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([4.0]) == (4.0, 0.0)


def test_welch_interval_by_hand():
    # a: mean 3, var 1 (n 3); b: mean 1, var 4 (n 5)
    # se^2 = 1/3 + 4/5 = 1.1333, se = 1.0646
    # df = 1.1333^2 / ((1/3)^2 / 2 + (4/5)^2 / 4) = 1.2844 / 0.2156 = 5.96
    # -> t975(5) = 2.571 (rounded down), half width 2.737
    out = compare([2.0, 3.0, 4.0], [-1.0, 3.0, -1.0, 3.0, 1.0])
    assert out['diff'] == pytest.approx(2.0)
    assert out['se'] == pytest.approx(math.sqrt(1 / 3 + 4 / 5))
    assert out['df'] == pytest.approx(5.959, abs=1e-3)
    assert out['low'] == pytest.approx(2.0 - 2.571 * out['se'])
    assert out['high'] == pytest.approx(2.0 + 2.571 * out['se'])
    assert out['z'] == pytest.approx(2.0 / out['se'])


def test_degenerate_cases():
    one = compare([1.0], [0.0, 1.0])
    assert one['low'] == -math.inf and one['high'] == math.inf
    flat = compare([1.0, 1.0], [0.0, 0.0])
    assert flat['low'] == flat['high'] == 1.0 and flat['z'] == math.inf
    assert t975(100) == 1.96 and t975(1) == 12.706
    with pytest.raises(ValueError, match='df=0.5'):
        t975(0.5)


def test_paired_interval_by_hand():
    # per-seed differences 1, 2, 3: mean 2, sd 1, se 1 / sqrt(3) = 0.5774,
    # t975(2) = 4.303 -> [2 - 2.484, 2 + 2.484]; z = 3.46
    out = compare([2.0, 4.0, 6.0], [1.0, 2.0, 3.0], paired=True)
    assert out['diff'] == pytest.approx(2.0)
    assert out['se'] == pytest.approx(1 / math.sqrt(3))
    assert out['low'] == pytest.approx(2.0 - 4.303 / math.sqrt(3))
    assert out['z'] == pytest.approx(2.0 * math.sqrt(3))
    assert out['df'] == 2.0
    # unpaired, the same numbers are far from significant
    assert compare([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])['low'] < 0
    with pytest.raises(ValueError, match='one score per seed'):
        compare([1.0, 2.0], [1.0], paired=True)


def test_failed_runs_are_left_out():
    """A run that failed (diverged) scores NaN: the statistics are those of
    the finished runs, and a paired comparison drops the failed seed."""
    nan = float('nan')
    assert mean_std([0.3, nan, 0.5]) == pytest.approx((0.4, 0.1414213), 1e-5)
    mean, std = mean_std([nan, nan])
    assert mean != mean and std != std
    paired = compare([0.3, nan, 0.5], [0.2, 0.1, 0.3], paired=True)
    assert paired == compare([0.3, 0.5], [0.2, 0.3], paired=True)
    assert paired['diff'] == pytest.approx(0.15)
    welch = compare([0.3, nan, 0.5], [0.2, 0.1, 0.3])
    assert welch == compare([0.3, 0.5], [0.2, 0.1, 0.3])
