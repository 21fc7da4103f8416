"""bench/run.py (`make bench`): one JSON + Markdown report with every section and its ratios, a broken
section reported as an error while the others still run, skipped sections saying why, bad flags → 2."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is not an installed package; `python -m pytest` has it via the cwd
    sys.path.insert(0, str(ROOT))

from bench import eval_speed, sections  # noqa: E402
from bench import run as bench_run  # noqa: E402


def run_suite(out: Path, *flags: str) -> tuple[int, dict, str]:
    import torch

    threads = torch.get_num_threads()
    try:  # in-process: the suite pins torch to 1 thread; give the rest of the session its own back
        rc = bench_run.main([*flags, "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    return rc, json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The real sections on tiny settings; the learned planner pointed at a folder that is not there."""
    out = tmp_path_factory.mktemp("bench")
    return run_suite(out, "--seconds", "0.2", "--calls", "2", "--eval-episodes", "0", "--skip", "steering",
                     "--planner-checkpoint", str(out / "no_such_planner"))


def figures_ok(section: dict) -> None:
    assert section["status"] == "ok" and section["rows"] and section["baseline"] and section["what"]
    for row in section["rows"]:
        assert row["value"] > 0 and row["ratio"] > 0, row


def test_report_has_every_section_with_figures_and_ratios(tiny):
    rc, rep, _ = tiny
    assert rc == 1  # one section failed (below): the run says so, after writing everything
    assert list(rep["sections"]) == list(sections.ORDER)
    assert rep["command"].startswith("python bench/run.py --seconds 0.2")
    assert {"cpu_count", "platform", "torch_threads", "load_avg_1m_start", "load_avg_1m_end"} <= set(rep["machine"])
    assert rep["machine"]["torch_threads"] == 1
    for key in ("sim", "policy", "memory"):
        figures_ok(rep["sections"][key])
    sim = {r["figure"]: r for r in rep["sections"]["sim"]["rows"]}
    assert sim["env steps/s, privileged keypoints (50 substeps + IK)"]["ratio"] == 1.0


def test_policy_section_times_every_setting_against_lerobot(tiny):
    policy = tiny[1]["sections"]["policy"]
    got = {(r["policy"], r["sampler"], r["steps"]) for r in policy["rows"]}
    assert got == {("diffusion", "ddim", n) for n in (1, 5, 10, 100)} | {("flow", "euler", n) for n in (1, 5, 10)} \
        | {("lerobot_diffusion", "ddim", 10)}
    rows = {(r["policy"], r["steps"]): r for r in policy["rows"]}
    ours, theirs = rows[("diffusion", 10)], rows[("lerobot_diffusion", 10)]
    assert theirs["ratio"] == 1.0 and "lerobot" in policy["baseline"] and "select_action" in policy["baseline"]
    assert ours["ratio"] == pytest.approx(ours["value"] / theirs["value"], rel=1e-2)
    assert 0.5 < theirs["params"] / ours["params"] < 2  # a model of the same size


def test_failing_and_skipped_sections_are_reported(tiny):
    _, rep, md = tiny
    s = rep["sections"]
    assert s["planner"]["status"] == "error" and "no_such_planner" in s["planner"]["reason"]
    assert [r["figure"] for r in s["planner"]["rows"]] == ["env step (baseline)", "oracle planner (kind instruction)"]
    assert all(r["value"] > 0 and r["ratio"] > 0 for r in s["planner"]["rows"])  # measured before the failure: kept
    assert (s["steering"]["status"], s["steering"]["reason"]) == ("skipped", "--skip")
    assert s["asr"]["status"] == "skipped" and "--asr" in s["asr"]["reason"]
    assert s["eval"]["status"] == "skipped" and "--eval-episodes 0" in s["eval"]["reason"]
    import torch

    if not torch.cuda.is_available():
        assert s["gpu"]["status"] == "skipped" and "no CUDA device" in s["gpu"]["reason"]
    for _, (title, _) in sections.ORDER.items():
        assert f"\n## {title}\n" in md
    assert "**Error:** `" in md.split("## Planner latency")[1].split("\n## ")[0]
    assert "| env step (baseline) |" in md


def test_device_latency_runs_the_gpu_sections_code_on_the_cpu():
    from bench.policy_speed import device_latency_ms
    from bench.scene import kitchen_scene

    scene = kitchen_scene()
    try:
        assert device_latency_ms(str(ROOT / "checkpoints" / "kitchen_r_flow"), scene, 1, "cpu") > 0
    finally:
        scene.close()


FAKE_EVAL = """import json, sys
out, workers = sys.argv[1], int(sys.argv[2])
json.dump({"meta": {"workers": workers, "episodes": 3, "episodes_per_min": 6.0 * (1.8 if workers > 1 else 1),
                    "wall_time_s": 30.0}}, open(out, "w"))
"""


def test_eval_asr_and_memory_sections_from_their_reports(tmp_path, monkeypatch):
    """sim/eval.py and bench/asr_accuracy.py replaced by fakes that write reports as the real ones do."""
    from bench import asr_accuracy

    def fake_asr(argv):
        Path(argv[argv.index("--out") + 1]).write_text(json.dumps({"prompted": {
            "rows": [{}] * 32, "asr_ms_p50": 400.0, "asr_ms_p95": 900.0, "speech_end_to_text_ms_p50": 900.0,
            "wer": 0.1, "correction_accuracy": 0.9, "wrong_action_rate": 0.05}}))
        return 0

    monkeypatch.setattr(asr_accuracy, "main", fake_asr)
    monkeypatch.setattr(sections, "ASR_REPORT", tmp_path / "asr.json")
    monkeypatch.setattr(sections, "EVAL_DIR", tmp_path / "eval")
    monkeypatch.setattr(eval_speed, "command",
                        lambda n, w, seed, out: [sys.executable, "-c", FAKE_EVAL, str(out), str(w)])
    rc, rep, md = run_suite(tmp_path / "out", "--asr", "--eval-episodes", "3",
                            "--skip", "sim,policy,steering,planner,gpu")
    assert rc == 0
    s = rep["sections"]
    figures_ok(s["asr"])
    assert [(r["figure"], r["ratio"]) for r in s["asr"]["rows"]][:2] == [("ASR p50", 1.0), ("ASR p95", 2.25)]
    figures_ok(s["eval"])
    assert [r["ratio"] for r in s["eval"]["rows"]] == [1.0, 1.8]
    assert all(r["command"].startswith("python -c") and r["peak_rss_mib"] > 0 for r in s["eval"]["rows"])
    figures_ok(s["memory"])
    assert [r["figure"] for r in s["memory"]["rows"]] == [
        "suite process", "sim/eval.py --workers 1 (largest process)", "sim/eval.py --workers 2 (largest process)"]
    assert "## Evaluation throughput" in md and "`python -c" in md


def test_a_failed_eval_run_raises_with_its_output(tmp_path, monkeypatch):
    monkeypatch.setattr(eval_speed, "command",
                        lambda *a: [sys.executable, "-c", "import sys; print('no such checkpoint'); sys.exit(2)"])
    with pytest.raises(RuntimeError, match="exited 2: no such checkpoint"):
        eval_speed.run_eval(2, 1, 0, tmp_path)


@pytest.mark.parametrize("flags", [["--skip", "nonsense"], ["--skip", "sim,nonsense"], ["--calls", "0"],
                                   ["--seconds", "-1"], ["--eval-episodes", "-1"], ["--bogus"]])
def test_bad_flags_exit_2(flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        bench_run.main([*flags, "--out", str(tmp_path)])
    assert e.value.code == 2
    assert not (tmp_path / "report.json").exists()
