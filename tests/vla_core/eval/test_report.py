import json

import pytest

from vla_core.eval.report import (format_markdown_table, format_table, plot_success, read_json,
                                  write_json)
from vla_core.eval.results import EpisodeResult
from vla_core.eval.stats import summarize


@pytest.fixture
def results() -> list[EpisodeResult]:
    def ep(i: int, cat: str, ok: bool, error: str | None = None) -> EpisodeResult:
        return EpisodeResult(task_id=f"t{i}", instruction=f"task {i}", category=cat, split="val",
                             seed=i, success=ok, length=10 * i, goals_met=int(ok),
                             goals_total=1, wall_time_s=0.25 * i,
                             video=f"videos/ep{i}.mp4" if ok else None, error=error)
    return [ep(1, "pick_place", True), ep(2, "pick_place", False), ep(3, "articulated", True),
            ep(4, "articulated", False, error="Traceback: boom")]


def test_format_table_aligned(results):
    text = format_table(summarize(results))
    lines = text.splitlines()
    assert len(lines) == 2 + 3  # header, rule, 2 categories + all
    assert len({len(line) for line in lines}) == 1  # fixed width
    assert lines[0].split()[0] == "category"
    assert lines[-1].startswith("all")
    assert "50.0" in lines[-1] and "[15.0, 85.0]" in lines[-1]


def test_format_markdown_table(results):
    lines = format_markdown_table(summarize(results)).splitlines()
    assert lines[0].startswith("| category |")
    assert set(lines[1]) <= set("|:-")
    assert all(line.startswith("|") and line.endswith("|") for line in lines)
    assert len(lines) == 5


def test_json_round_trip(tmp_path, results):
    stats = summarize(results)
    meta = {"bench": "kitchen_r", "mode": "sim", "seed": 0, "command": "eval --all"}
    path = tmp_path / "sub" / "report.json"
    write_json(path, meta=meta, results=results, stats=stats)
    meta2, results2, stats2 = read_json(path)
    assert (meta2, results2, stats2) == (meta, results, stats)
    # Atomic write leaves only the final file behind.
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_json_overwrite_is_atomic_on_failure(tmp_path, results):
    path = tmp_path / "report.json"
    write_json(path, meta={"v": 1}, results=results, stats=summarize(results))
    before = path.read_text()
    with pytest.raises(TypeError):  # unserializable meta fails mid-dump
        write_json(path, meta={"v": object()}, results=results, stats=summarize(results))
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize("content, match", [
    ("{not json", "not valid JSON"),
    ('{"meta": {}, "summary": []}', "top-level keys"),
    ('{"meta": [], "summary": [], "episodes": []}', "'meta' must be an object"),
    ('{"meta": {}, "summary": [], "episodes": {}}', "'episodes' must be a list"),
    ('{"meta": {}, "summary": [], "episodes": [{"task_id": "x"}]}', "missing keys"),
    ('{"meta": {}, "summary": [{"category": "all"}], "episodes": []}', "CategoryStats"),
])
def test_read_json_rejects_malformed(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        read_json(path)


def test_json_is_plain_json(tmp_path, results):
    path = tmp_path / "r.json"
    write_json(path, meta={}, results=results, stats=summarize(results))
    doc = json.loads(path.read_text())
    assert doc["summary"][-1]["category"] == "all"
    assert doc["episodes"][3]["error"] == "Traceback: boom"


def test_plot_success_writes_png(tmp_path, results):
    path = tmp_path / "plots" / "success.png"
    plot_success(summarize(results), path, title="kitchen_r / val")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000
