"""DVC stage ``prepare``: synthetic clip bundle → prepared detection dataset, then GX validation,
coverage (:mod:`veilleur.data.coverage`) and the dataset card (:mod:`veilleur.data.dataset_card`).

Usage::

    python -m veilleur.data.stages.prepare --params params.yaml --raw data/raw/synth \\
        --out data/processed --reports reports/data
    # validate an existing prepared dataset (e.g. from `veilleur data ingest`) and write its card
    python -m veilleur.data.stages.prepare --params params.yaml --validate-only --out DATA
    # regenerate only the card of an existing prepared dataset (no GX run)
    python -m veilleur.data.stages.prepare --params params.yaml --card-only --out DATA

Exit status: 0 when the dataset is written and every expectation passes (coverage targets of
``prepare.coverage`` included); 1 when an expectation fails (each failure is logged with the
samples, slice or class that broke it, and ``dvc repro`` stops); 2 when the bundle or the
parameters cannot be used (the message says what to fix). The card is written in every case
where the dataset could be read, so a rejected dataset still documents its gaps.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from pydantic import Field

from veilleur.data.coverage import CoverageParams
from veilleur.data.curation import CurateParams
from veilleur.data.dataset_card import write_dataset_card
from veilleur.data.expectations import DatasetReadError, validate_dataset
from veilleur.data.prepare import PrepareError, PrepareParams, prepare_dataset
from veilleur.data.provenance import read_dataset_version
from veilleur.data.splits import SplitError
from veilleur.runtime.config import ParamsError, load_params_section

logger = logging.getLogger(__name__)


class PrepareStageParams(PrepareParams, frozen=True, extra="forbid"):
    """The ``prepare`` section: the writer's parameters plus the coverage targets."""

    coverage: CoverageParams = Field(
        default_factory=CoverageParams, description="representativeness targets (EX-086)"
    )

    def writer_params(self) -> PrepareParams:
        """The parameters of :func:`prepare_dataset` (recorded in the manifest)."""
        return PrepareParams.model_validate(self.model_dump(exclude={"coverage"}))


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
    parser.add_argument(
        "--dvc-lock",
        type=Path,
        default=Path("dvc.lock"),
        help="dvc.lock read for the DVC hash of the raw data (dataset card)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--validate-only",
        action="store_true",
        help="skip preparation: validate the existing dataset OUT and write its card",
    )
    mode.add_argument(
        "--card-only",
        action="store_true",
        help="only regenerate REPORTS/dataset_card.md from the existing dataset OUT",
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
        params = load_params_section(args.params, "prepare", PrepareStageParams)
        # Curation runs with the params file's `curate` section (defaults when it has none);
        # without a params file, as before, it is skipped.
        curate = (
            load_params_section(args.params, "curate", CurateParams)
            if args.params is not None
            else None
        )
    except ParamsError as exc:
        logger.error("prepare failed: %s", exc)
        return 2
    if args.card_only:
        return _card(args, params)
    if not args.validate_only:
        try:
            prepare_dataset(args.raw, args.out, params.writer_params(), curate)
        except (PrepareError, SplitError) as exc:
            logger.error("prepare failed: %s", exc)
            return 2
    prepared = time.perf_counter()
    try:
        report = validate_dataset(
            args.out, args.reports, data_docs=args.data_docs, coverage=params.coverage
        )
    except DatasetReadError as exc:
        logger.error("validation could not read the dataset: %s", exc)
        return 2
    version = _version(args.out)
    status = _card(args, params)
    logger.info(
        "prepare %.1f s, validation %.1f s; reports in %s",
        prepared - started,
        time.perf_counter() - prepared,
        args.reports,
    )
    if report.coverage is not None:
        for reason in report.coverage.reasons_fr():
            logger.info("coverage: %s", reason)
    if not report.success:
        for failure in report.failures:
            logger.error("expectation failed: %s", failure.describe())
        logger.error(
            "dataset %s rejected: %d of %d expectations failed; see %s",
            version,
            len(report.failures),
            report.evaluated,
            report.json_path,
        )
        return 1
    logger.info("dataset %s: %s", version, report.message())
    return status


def _version(out: Path) -> str | None:
    try:
        return read_dataset_version(out)
    except (FileNotFoundError, ValueError):
        return None


def _card(args: argparse.Namespace, params: PrepareStageParams) -> int:
    try:
        path = write_dataset_card(args.out, args.reports, params.coverage, dvc_lock=args.dvc_lock)
    except DatasetReadError as exc:
        logger.error("dataset card: cannot read the dataset: %s", exc)
        return 2
    logger.info("dataset card written to %s", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
