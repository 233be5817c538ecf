"""DVC stage ``evaluate``: COCO mAP of the ONNX model on the test split, and per-event and
tracking metrics from replaying the test clips through the runtime engine.

Writes to ``--out``: the raw predictions, alerts and tracks (``tracks.json``: the tracker's
boxes on every analysed frame), the evaluation journal (``journal.db``) and ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from veilleur.evaluation.context import build_context, write_raw
from veilleur.evaluation.params import EvaluateParams
from veilleur.evaluation.replay_eval import detect_images, replay_clips, replayable_clips
from veilleur.evaluation.report import metrics_dict
from veilleur.runtime.config import load_params_section
from veilleur.runtime.journal.repository import Journal

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="veilleur evaluate", description=__doc__)
    ap.add_argument("--params", type=Path, default=None, help="params.yaml (section evaluate)")
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--model", type=Path, default=Path("models/detector.onnx"))
    ap.add_argument("--out", type=Path, default=Path("reports/evaluation"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params = load_params_section(args.params, "evaluate", EvaluateParams)

    splits = json.loads((args.data / "splits.json").read_text(encoding="utf-8"))
    test_clips, skipped = replayable_clips({c: splits["clips"][c] for c in splits["test"]})
    for clip, reason in skipped.items():
        log.warning("%s: not replayed (%s)", clip, reason)
    coco = json.loads((args.data / "test" / "annotations.json").read_text(encoding="utf-8"))
    predictions = detect_images(
        coco,
        args.data / "test",
        args.model,
        confidence=params.map_confidence,
        batch=params.batch_size,
    )
    log.info("%d predictions on %d test images", len(predictions), len(coco["images"]))

    args.out.mkdir(parents=True, exist_ok=True)
    journal_path = args.out / "journal.db"
    journal_path.unlink(missing_ok=True)
    replays = replay_clips(
        test_clips,
        args.model,
        confidence=params.event_confidence,
        journal=Journal(journal_path),
    )
    alerts = [a for r in replays for a in r.alerts]
    write_raw(
        args.out,
        predictions,
        alerts,
        args.model,
        [r.config_version for r in replays],
        tracks={r.clip: r.tracks for r in replays},
    )

    context = build_context(args.data, args.model, args.out, params)
    metrics = metrics_dict(context)
    (args.out / "metrics.json").write_text(
        json.dumps(metrics, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    ev = context.events.overall
    det = context.detection
    log.info(
        "mAP@[.5:.95] %.3f, mAP@.5 %.3f; events: TP %d FP %d FN %d over %d clips",
        det.map if det and det.map is not None else float("nan"),
        det.map50 if det and det.map50 is not None else float("nan"),
        ev.tp,
        ev.fp,
        ev.fn,
        len(test_clips),
    )
    if context.tracking is not None:
        tr = context.tracking.overall
        log.info(
            "tracking over %d clips: MOTA %.3f, IDF1 %.3f, HOTA %.3f, %d ID switches",
            len(context.tracking.per_clip),
            tr.mota if tr.mota is not None else float("nan"),
            tr.idf1 if tr.idf1 is not None else float("nan"),
            tr.hota if tr.hota is not None else float("nan"),
            tr.id_switches,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
