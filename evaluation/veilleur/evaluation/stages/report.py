"""DVC stage ``report``: the French validation report, ``reports/validation/index.html``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from veilleur.evaluation.context import build_context
from veilleur.evaluation.params import EvaluateParams
from veilleur.evaluation.report import render_report
from veilleur.runtime.config import load_params_section

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="veilleur report", description=__doc__)
    ap.add_argument("--params", type=Path, default=None, help="params.yaml (section evaluate)")
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--model", type=Path, default=Path("models/detector.onnx"))
    ap.add_argument("--evaluation", type=Path, default=Path("reports/evaluation"))
    ap.add_argument("--out", type=Path, default=Path("reports/validation"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    context = build_context(
        args.data,
        args.model,
        args.evaluation,
        load_params_section(args.params, "evaluate", EvaluateParams),
    )
    index = render_report(context, args.out)
    log.info("validation report: %s", index)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
