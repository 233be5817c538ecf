"""``veilleur eval-events``: per-event precision, recall and false alarms per hour.

Replays annotated clips (a synth bundle, or clips generated on the spot) through the runtime
engine with each clip's site rules, on the clips' ground-truth boxes (degraded by a seeded
detector-like noise) or on an ONNX detector, and prints the per-event table.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from veilleur.evaluation.event_eval import (
    ClipSpec,
    GtNoise,
    clips_from_manifest,
    evaluate_clips,
    format_table,
    score,
)
from veilleur.evaluation.event_gt import load_ground_truth
from veilleur.evaluation.event_matching import PredictedAlert, Tolerance

log = logging.getLogger(__name__)


def generate_eval_set(
    out: Path, per_scenario: int, duration_s: float, seed: int, extra_negatives: int = 0
) -> list[ClipSpec]:
    """Render ``per_scenario`` clips of every scenario (events and negatives) into ``out``,
    plus ``extra_negatives`` hard-negative clips (false-alarm bait, no event)."""
    from veilleur.data.synth.bundle import generate_clip
    from veilleur.data.synth.params import SCENARIOS, SynthParams

    params = SynthParams(seed=seed, duration_s=duration_s)
    plan = [s for s in SCENARIOS for _ in range(per_scenario)]
    plan += ["hard_negative"] * extra_negatives
    specs: list[ClipSpec] = []
    for index, scenario in enumerate(plan):
        rec = generate_clip(params, index, out, scenario)
        specs.append(ClipSpec(rec.id, out / rec.site, out / rec.coco, out / rec.events))
    return specs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="veilleur eval-events", description=__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--bundle", type=Path, help="A synth bundle's manifest.json.")
    src.add_argument(
        "--generate", type=int, metavar="K", help="Render K clips of every scenario first."
    )
    ap.add_argument("--clips-dir", type=Path, help="Where --generate writes (default: temp).")
    ap.add_argument(
        "--negatives", type=int, default=0, help="With --generate: extra hard-negative clips."
    )
    ap.add_argument("--duration-s", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument(
        "--detector",
        default="gt",
        help="'gt' (ground-truth boxes with noise) or an ONNX detector file.",
    )
    ap.add_argument("--confidence", type=float, default=0.35)
    ap.add_argument("--noise-drop", type=float, default=GtNoise.drop)
    ap.add_argument("--noise-jitter", type=float, default=GtNoise.jitter)
    ap.add_argument("--tolerance-before-s", type=float, default=2.0)
    ap.add_argument("--tolerance-after-s", type=float, default=3.0)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--out", type=Path, help="Write the figures as JSON here.")
    args = ap.parse_args(argv)

    if args.bundle is not None:
        if not args.bundle.is_file():
            ap.error(f"{args.bundle}: no such manifest file")
        specs = clips_from_manifest(args.bundle)
    else:
        clips_dir = args.clips_dir or Path(tempfile.mkdtemp(prefix="veilleur-eval-"))
        specs = generate_eval_set(
            clips_dir, args.generate, args.duration_s, args.seed, args.negatives
        )
    tol = Tolerance(args.tolerance_before_s, args.tolerance_after_s)
    if args.detector == "gt":
        noise = GtNoise(drop=args.noise_drop, jitter=args.noise_jitter, seed=args.seed)
        report = evaluate_clips(specs, noise=noise, tolerance=tol, n_bootstrap=args.bootstrap)
    else:
        from veilleur.evaluation.replay_eval import replay_clips

        model = Path(args.detector)
        if not model.is_file():
            ap.error(f"{model}: no such detector file (or pass --detector gt)")
        replays = replay_clips(
            {s.clip: {"site": str(s.site)} for s in specs}, model, confidence=args.confidence
        )
        alerts = [PredictedAlert.from_record(a, r.clip) for r in replays for a in r.alerts]
        gt = load_ground_truth(s.events for s in specs)
        report = score(list(gt.events), alerts, gt.clips, str(model), None, tol, args.bootstrap)
    print(format_table(report))  # noqa: T201 - the table is the command's output
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
