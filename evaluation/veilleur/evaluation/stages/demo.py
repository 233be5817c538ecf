"""End of ``make demo``: replay the demo's intrusion clips into a journal, then say where
everything is (ONNX model, MLflow run, validation report, journal)."""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path

from veilleur.evaluation.event_gt import load_clip_events
from veilleur.evaluation.params import EvaluateParams
from veilleur.evaluation.replay_eval import replay_clips
from veilleur.runtime.detect.onnx import read_sidecar
from veilleur.runtime.journal.repository import Journal

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="veilleur-demo", description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--model", type=Path, default=Path("models/detector.onnx"))
    ap.add_argument("--journal", type=Path, default=Path("var/demo/journal.db"))
    ap.add_argument("--report", type=Path, default=Path("reports/validation/index.html"))
    ap.add_argument("--mlflow", default="sqlite:///mlflow.db")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    splits = json.loads((args.data / "splits.json").read_text(encoding="utf-8"))
    test = {c: splits["clips"][c] for c in splits["test"]}
    intrusion = {
        c: e
        for c, e in test.items()
        if any(ev.event == "franchissement" for ev in load_clip_events(Path(e["events"]))[1])
    }
    args.journal.parent.mkdir(parents=True, exist_ok=True)
    args.journal.unlink(missing_ok=True)
    journal = Journal(args.journal)
    replays = replay_clips(
        intrusion or test,
        args.model,
        confidence=EvaluateParams().event_confidence,
        journal=journal,
    )
    by_event = Counter(a["event"] for r in replays for a in r.alerts)
    side = read_sidecar(args.model)
    verify = journal.verify()
    lines = [
        "",
        "Veilleur — démonstration terminée",
        f"  Modèle ONNX          : {args.model} (sha256 {side.get('sha256', '?')[:16]}…)",
        f"  Run MLflow           : {side.get('mlflow_run_id', '?')} "
        f"(mlflow ui --backend-store-uri {args.mlflow})",
        f"  Rapport de validation: {args.report}",
        f"  Journal des alertes  : {args.journal} — {journal.count('alert')} alerte(s) "
        f"{dict(by_event)} sur {len(replays)} séquence(s) d'intrusion ; chaîne "
        f"{'intègre' if verify.ok else 'ROMPUE'}",
        f"  Voir les alertes     : veilleur journal verify {args.journal}",
        "",
    ]
    print("\n".join(lines))  # noqa: T201 - the demo's final summary is for the terminal
    return 0 if verify.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
