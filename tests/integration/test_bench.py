"""`veilleur bench` end to end, tiny: 1 and 2 streams, 3 s of a generated clip, YOLOX-Nano.

Checks the shape of the result (every stage measured, ratio, latency percentiles, alerts
journaled), never how fast this machine is: CI machines vary, and the figures that matter are
those of ``benchmarks/`` on the target hardware.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from veilleur.runtime.bench import STAGES

VEILLEUR = str(Path(sys.executable).parent / "veilleur")


@pytest.mark.slow
@pytest.mark.req("EX-011", "EX-012")
def test_bench_measures_every_stage_against_the_baseline(tmp_path: Path, shared_dir: Path):
    pytest.importorskip("supervision")
    out = tmp_path / "bench.json"
    r = subprocess.run(
        [VEILLEUR, "bench", "--model", str(shared_dir / "models" / "yolox_nano.onnx"),
         "--adapter", "yolox", "--synthetic", "1", "--streams", "1,2", "--seconds", "3",
         "--repeats", "1", "--work-dir", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert "engine/baseline" in r.stdout  # the readable table was printed

    result = json.loads(out.read_text())
    assert result["schema"] == "veilleur-bench/1"
    assert result["settings"]["analysis_fps"] == 6.25
    assert [run["streams"] for run in result["runs"]] == [1, 2]
    for run in result["runs"]:
        assert run["throughput_ratio"] > 0
        for mode in ("engine", "baseline"):
            m = run[mode]
            assert set(m["stages_ms_per_frame"]) == set(STAGES)
            for stage in STAGES:
                assert m["stages_ms_per_frame"][stage] >= 0, (mode, stage)
            assert m["stages_ms_per_frame"]["inference"] > 0
            assert m["stages_ms_per_frame"]["decode"] > 0
            assert m["throughput_fps"] > 0 and m["frames"] % run["streams"] == 0
            assert 0 <= m["overhead_outside_inference"] <= 1
            # the whole-frame presence rule fires on the clip's people: alerts are journaled
            # (hash chain intact) and each has a hand-off → journaled latency
            assert m["journaled"] >= m["alerts"] > 0
            assert m["journal_chain_ok"]
            lat = m["latency_ms"]
            assert lat["n"] == m["alerts"]
            assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    # the engine batches across streams: 2 streams → one detector call per time step
    two = result["runs"][1]
    assert two["engine"]["mean_batch"] == 2 and two["baseline"]["mean_batch"] == 1
    summary = result["summary"]
    assert summary["throughput_ratio"] == result["runs"][-1]["throughput_ratio"]
    assert isinstance(summary["targets"]["ratio_ge_2x"], bool)
    assert isinstance(summary["targets"]["overhead_lt_25pct"], bool)
    assert result["clips"][0]["decode_ms_per_analysed_frame"] > 0
