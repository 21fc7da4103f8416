import pytest

from vla_core.eval.results import EpisodeResult
from vla_core.eval.stats import summarize, wilson_interval


def ep(category: str, success: bool, length: int = 100, done: int = 1, total: int = 2,
       error: str | None = None) -> EpisodeResult:
    return EpisodeResult(task_id=f"{category}_t", instruction="do it", category=category,
                         split="test", seed=0, success=success, length=length,
                         goals_met=done, goals_total=total, wall_time_s=1.5, error=error)


def test_wilson_known_values():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3)
    assert hi == pytest.approx(0.9433, abs=1e-3)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = wilson_interval(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-3) and hi == 1.0


def test_wilson_edge_cases():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    # Wider z -> wider interval.
    assert wilson_interval(5, 10, z=2.58)[0] < wilson_interval(5, 10)[0]


def test_summarize_per_category_and_all_row():
    results = [ep("pick", True, 50), ep("pick", False, 150), ep("pick", True, 100),
               ep("open", False, 200, done=0), ep("open", True, 100, done=2)]
    stats = summarize(results)
    assert [s.category for s in stats] == ["open", "pick", "all"]
    open_, pick, all_ = stats
    assert (open_.n, open_.successes, open_.rate) == (2, 1, 0.5)
    assert (pick.n, pick.successes) == (3, 2)
    assert pick.rate == pytest.approx(2 / 3)
    assert pick.mean_length == pytest.approx(100.0)
    assert open_.mean_goals_met_frac == pytest.approx(0.5)
    assert (all_.n, all_.successes) == (5, 3)
    assert all_.mean_length == pytest.approx(120.0)
    assert (all_.ci_low, all_.ci_high) == pytest.approx(wilson_interval(3, 5))


def test_crashed_episode_counts_as_failure():
    # success=True but an error: the crash wins.
    stats = summarize([ep("pick", True), ep("pick", True, error="RuntimeError: sim diverged")])
    assert stats[0].successes == 1
    assert stats[-1].rate == 0.5


def test_summarize_empty_gives_all_row_only():
    stats = summarize([])
    assert len(stats) == 1 and stats[0].category == "all" and stats[0].n == 0
    assert (stats[0].ci_low, stats[0].ci_high) == (0.0, 1.0)


def test_episode_result_dict_round_trip_and_strictness():
    r = ep("pick", True)
    assert EpisodeResult.from_dict(r.to_dict()) == r
    d = r.to_dict()
    del d["video"]  # optional keys may be omitted
    assert EpisodeResult.from_dict(d) == r
    with pytest.raises(ValueError, match="unknown keys \\['bogus'\\]"):
        EpisodeResult.from_dict({**r.to_dict(), "bogus": 1})
    d = r.to_dict()
    del d["seed"]
    with pytest.raises(ValueError, match="missing keys \\['seed'\\]"):
        EpisodeResult.from_dict(d)
    with pytest.raises(ValueError, match="length"):
        EpisodeResult.from_dict({**r.to_dict(), "length": "100"})


def test_wilson_interval_always_contains_the_rate():
    for n in range(1, 300):
        for k in (0, 1, n // 2, n - 1, n):
            lo, hi = wilson_interval(k, n)
            assert lo <= k / n <= hi, (k, n, lo, hi)
