"""DVC stage ``report``: the French validation report, ``reports/validation/index.html`` and
``rapport.pdf`` (with ``metrics.json`` and the FiftyOne error list).

``--compare OTHER/metrics.json`` adds the regression table against another model or
configuration evaluated on the same clips. When a bias gate of ``params.yaml``
(``evaluate.gates``) fails, the report is written first — it says so in words — then the stage
fails with the French reason.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from veilleur.evaluation.compare import compare_metrics
from veilleur.evaluation.context import build_context
from veilleur.evaluation.params import EvaluateParams
from veilleur.evaluation.report import metrics_dict, render_report
from veilleur.evaluation.report_context import ReportContext
from veilleur.runtime.config import load_params_section

log = logging.getLogger(__name__)


def gate_exit_code(context: ReportContext, params: EvaluateParams) -> int:
    """1 (and the French reasons on stderr) when an enforced bias gate fails, else 0."""
    bias = context.bias
    if bias is None or bias.passed:
        return 0
    lines = ["Échec des contrôles de biais (params.yaml, evaluate.gates) :"]
    lines += [f"  - {v.message_fr}" for v in bias.failures]
    if not params.gates.enforce:
        log.warning("\n".join([*lines, "  (non bloquant : evaluate.gates.enforce est faux)"]))
        return 0
    print("\n".join(lines), file=sys.stderr)  # noqa: T201 - the stage's reason to fail
    return 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="veilleur report", description=__doc__)
    ap.add_argument("--params", type=Path, default=None, help="params.yaml (section evaluate)")
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--model", type=Path, default=Path("models/detector.onnx"))
    ap.add_argument("--evaluation", type=Path, default=Path("reports/evaluation"))
    ap.add_argument("--out", type=Path, default=Path("reports/validation"))
    ap.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="OTHER_METRICS.json",
        help="metrics.json of the reference model/configuration (same test clips).",
    )
    ap.add_argument("--no-pdf", action="store_true", help="Skip rapport.pdf.")
    ap.add_argument(
        "--mlflow-uri",
        default=None,
        help="Log the report to the model's MLflow run (its sidecar's mlflow_run_id) there.",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params = load_params_section(args.params, "evaluate", EvaluateParams)
    context = build_context(args.data, args.model, args.evaluation, params)
    if args.compare is not None:
        if not args.compare.is_file():
            ap.error(f"{args.compare}: no such metrics.json")
        reference = json.loads(args.compare.read_text(encoding="utf-8"))
        comparison = compare_metrics(
            reference, metrics_dict(context), n_bootstrap=params.n_bootstrap, seed=params.seed
        )
        context = dataclasses.replace(context, comparison=comparison)
    index = render_report(context, args.out, pdf=not args.no_pdf)
    log.info("validation report: %s", index)
    run_id = context.model.mlflow_run_id
    if args.mlflow_uri and run_id:
        from veilleur.evaluation.mlflow_log import log_report

        metrics = json.loads((args.out / "metrics.json").read_text(encoding="utf-8"))
        log_report(args.mlflow_uri, run_id, args.out, metrics)
    elif args.mlflow_uri:
        log.warning("the model sidecar names no MLflow run: report not logged to MLflow")
    return gate_exit_code(context, params)


if __name__ == "__main__":
    raise SystemExit(main())
