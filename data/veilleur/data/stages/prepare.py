"""DVC stage ``prepare``: synthetic clip bundle → prepared detection dataset, then GX validation.

Usage::

    python -m veilleur.data.stages.prepare --params params.yaml --raw data/raw/synth \\
        --out data/processed --reports reports/data

Exit status: 0 when the dataset is written and every expectation passes; 1 when an expectation
fails (each failure is logged with the samples that broke it, and ``dvc repro`` stops); 2 when
the bundle or the parameters cannot be used (the message says what to fix).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from veilleur.data.expectations import DatasetReadError, validate_dataset
from veilleur.data.prepare import PrepareError, PrepareParams, prepare_dataset
from veilleur.data.splits import SplitError
from veilleur.runtime.config import ParamsError, load_params_section

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The stage's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m veilleur.data.stages.prepare",
        description="Prepare the detection dataset from a synthetic clip bundle and validate it.",
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="params file; its 'prepare' section is used (defaults when absent)",
    )
    parser.add_argument(
        "--raw",
        type=Path,
        default=Path("data/raw/synth"),
        help="synthetic clip bundle folder (with manifest.json)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("data/processed"), help="prepared dataset folder"
    )
    parser.add_argument(
        "--reports", type=Path, default=Path("reports/data"), help="validation reports folder"
    )
    parser.add_argument(
        "--data-docs",
        action="store_true",
        help=(
            "also build the Great Expectations Data Docs site under REPORTS/gx (its pages load "
            "CSS/JS from public CDNs when opened: off by default, the product is air-gapped)"
        ),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the stage; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # GX logs hundreds of INFO lines at import (docs decorators); keep its warnings only.
    # (its data_context.types.base module pins its own logger to INFO, hence the second line).
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)
    started = time.perf_counter()
    try:
        params = load_params_section(args.params, "prepare", PrepareParams)
        result = prepare_dataset(args.raw, args.out, params)
    except (PrepareError, SplitError, ParamsError) as exc:
        logger.error("prepare failed: %s", exc)
        return 2
    prepared = time.perf_counter()
    try:
        report = validate_dataset(args.out, args.reports, data_docs=args.data_docs)
    except DatasetReadError as exc:
        logger.error("validation could not read the dataset: %s", exc)
        return 2
    logger.info(
        "prepare %.1f s, validation %.1f s; reports in %s",
        prepared - started,
        time.perf_counter() - prepared,
        args.reports,
    )
    if not report.success:
        for failure in report.failures:
            logger.error("expectation failed: %s", failure.describe())
        logger.error(
            "dataset %s rejected: %d of %d expectations failed; see %s",
            result.dataset_version,
            len(report.failures),
            report.evaluated,
            report.json_path,
        )
        return 1
    logger.info("dataset %s: %s", result.dataset_version, report.message())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
