"""The benchmark's arithmetic, checked by hand: a wrong ratio would misreport every run."""

from __future__ import annotations

import pytest

from bench import figures


def test_percentile_is_nearest_rank_and_always_an_observed_value():
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert figures.percentile(values, 50) == 3.0
    assert figures.percentile(values, 90) == 5.0
    assert figures.percentile(values, 20) == 1.0
    assert figures.percentile(values, 21) == 2.0
    assert figures.percentile(values, 0) == 1.0
    assert figures.percentile(values, 100) == 5.0
    assert figures.percentile([], 50) is None
    hundred = [float(n) for n in range(1, 101)]
    assert figures.percentile(hundred, 99) == 99.0
    assert figures.percentile(hundred, 99.5) == 100.0


def test_rate_and_ratio():
    assert figures.rate(300, 1.5) == 200.0
    assert figures.rate(10, 0) is None
    assert figures.rate(10, None) is None
    assert figures.ratio(1400.0, 2000.0) == pytest.approx(0.7)
    assert figures.ratio(None, 2000.0) is None
    assert figures.ratio(5.0, 0.0) is None


def test_a_rate_set_on_one_machine_is_scaled_by_the_floors():
    # 300/s where the floor took 1,772/s is 76/s where it takes 450/s
    assert figures.scaled(300.0, 450.0, 1772.0) == 76
    assert figures.scaled(300.0, 1772.0, 1772.0) == 300
    assert figures.scaled(300.0, None, 1772.0) == 300.0


def test_latency_summary_is_in_milliseconds():
    summary = figures.latency_summary_ms([0.010, 0.020, 0.030, 0.1])
    assert summary == {"count": 4, "p50": 20.0, "p90": 100.0, "p99": 100.0, "max": 100.0}
    assert figures.latency_summary_ms([])["p50"] is None


def test_cpu_per_answer_sums_the_kinds():
    per = figures.cpu_per_answer_ms({"web": 2.0, "worker": 1.0, "postgres": 0.5}, 1000)
    assert per == {"web": 2.0, "worker": 1.0, "postgres": 0.5, "total": 3.5}
    with pytest.raises(ValueError):
        figures.cpu_per_answer_ms({"web": 1.0}, 0)


def test_cpu_beyond_idle_takes_off_what_the_idle_stack_burns_in_as_long():
    cpu = {"web": 3.0, "beat": 0.05, "postgres": 1.0}
    idle = {"beat": 0.01, "postgres": 0.02}
    assert figures.beyond_idle(cpu, idle, wall_s=10.0) == {
        "web": 3.0,
        "beat": 0.0,  # never below nothing
        "postgres": pytest.approx(0.8),
    }


def test_within_compares_against_the_smaller_figure():
    assert figures.within(1.0, 1.2, 0.2)
    assert figures.within(1.2, 1.0, 0.2)
    assert not figures.within(1.0, 1.21, 0.2)


def test_lag_behind_is_how_long_ago_the_database_held_what_the_board_shows():
    # (time, database total, board total)
    samples = [
        (0.0, 0, 0),
        (1.0, 100, 0),
        (2.0, 300, 100),
        (3.0, 300, 300),
    ]
    # at 1 s the board still shows what the database held at 0 s; at 2 s, what it held
    # at 1 s; at 3 s it has caught up
    assert figures.lag_behind(samples) == [(0.0, 0.0), (1.0, 1.0), (2.0, 1.0), (3.0, 0.0)]


def test_lag_is_zero_when_the_board_keeps_up():
    samples = [(0.0, 10, 10), (0.5, 20, 20), (1.0, 20, 20)]
    assert [lag for _, lag in figures.lag_behind(samples)] == [0.0, 0.0, 0.0]


def test_verdicts_compare_ratios_or_figures_with_their_targets():
    fast = figures.at_least("accept", 1500.0, 2000.0, 0.7)
    assert fast.measured == pytest.approx(0.75) and fast.passed is True
    slow = figures.at_least("accept", 1000.0, 2000.0, 0.7)
    assert slow.passed is False
    lag = figures.at_most("lag", 2.5, 3.0)
    assert lag.passed is True
    assert figures.at_most("lag", 3.5, 3.0).passed is False
    assert figures.at_most("lag", None, 3.0).passed is None


def test_latency_bins_group_points_by_time():
    points = [(0.01, 5.0), (0.2, 7.0), (0.3, 100.0), (0.6, 1.0)]
    bins = figures.binned_latency(points, 0.25)
    assert [b["t"] for b in bins] == [0.0, 0.25, 0.5]
    assert [b["count"] for b in bins] == [2, 1, 1]
    assert bins[0]["p50"] == 5.0 and bins[0]["max"] == 7.0
