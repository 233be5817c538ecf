"""``veilleur data …``: the data scientist's commands on real datasets.

Usage::

    veilleur data ingest SRC [SRC …] --format coco|yolo|cvat|voc|fiftyone [--format … per SRC]
        [--source-yaml SRC/source.yaml …] [--taxonomy data/taxonomy.yaml] --out DIR
        [--allow-unknown] [--label-field FIELD] [--params params.yaml] [--frame-stride N]
        [--seed S] [--access-log var/acces-donnees.db]
    veilleur data ingest --sources data/sources.yaml --out DIR [same options]
    veilleur data validate DIR [--reports reports/data] [--data-docs] [--access-log …]
    veilleur data access-log verify|export [--out FILE] [--access-log …]
    veilleur data fiftyone [--data data/processed] [--rebuild]
    veilleur data app [--data data/processed] [--port 5151] [--address 127.0.0.1]

``ingest`` reads each SRC in its format (one ``--format`` for all, or one per SRC in order; or
the sources manifest of :mod:`veilleur.data.ingest.multi`), maps its labels through the
taxonomy file, attaches the provenance and metadata of each source sidecar, checks the sources
together (names, clip ids, shared files, labels treated differently) and writes one prepared
detection dataset (contracts §6) under DIR. It prints a JSON summary on stdout (samples, boxes
per class, ignored and unknown labels, events, splits, dataset version; with several sources,
the totals, ``sources`` and ``label_conflicts``).

``validate`` runs the Great Expectations suites of the ``prepare`` stage
(:func:`veilleur.data.expectations.validate_dataset`) on a prepared dataset.

``ingest`` and ``validate`` append who, when, which command, which paths and which
``dataset_version`` to the hash-chained data access log (:mod:`veilleur.data.access_log`,
EX-122); ``access-log verify`` checks its chain, ``access-log export`` writes it out.

Exit status: 0 when the dataset is written (valid, verified); 1 when an expectation fails or the
access log's chain is broken; 2 on bad input (every problem is listed on stderr, naming the file
and the line or element, and the summary says ``"ok": false``) or an access log that cannot be
written (the data are then not touched).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from veilleur.data.access_log import AccessLogError, DataAccessLog, resolve_location
from veilleur.data.curation import CurateParams
from veilleur.data.ingest import (
    FORMATS,
    IngestError,
    export_prepared,
    load_source_config,
    load_taxonomy,
)
from veilleur.data.ingest.model import Problem
from veilleur.data.ingest.multi import (
    SourceSpec,
    default_sidecar,
    ingest_sources,
    load_sources_manifest,
)
from veilleur.data.prepare import PrepareParams
from veilleur.data.stages.prepare import PrepareStageParams
from veilleur.runtime.config import ParamsError, load_params_section

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``veilleur data``."""
    parser = argparse.ArgumentParser(
        prog="veilleur data", description="Data stage commands on real annotated datasets."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ing = sub.add_parser(
        "ingest",
        help="import an annotated dataset into the prepared layout",
        description="Import COCO, YOLO, CVAT, Pascal VOC or FiftyOne annotations, mapped to "
        "the taxonomy, with provenance and metadata (docs/donnees-import.md).",
    )
    ing.add_argument(
        "src",
        type=Path,
        nargs="*",
        help="dataset folder(s) (or the COCO/CVAT annotation file); or use --sources",
    )
    ing.add_argument(
        "--format",
        action="append",
        choices=FORMATS,
        default=None,
        help="annotation format: once for every SRC, or once per SRC in order",
    )
    ing.add_argument(
        "--source-yaml",
        type=Path,
        action="append",
        default=None,
        help="source sidecar (provenance, metadata), once per SRC; default SRC/source.yaml",
    )
    ing.add_argument(
        "--sources",
        type=Path,
        default=None,
        help="sources manifest (YAML: path, format, source overrides per source) instead of SRC",
    )
    ing.add_argument(
        "--taxonomy", type=Path, default=Path("data/taxonomy.yaml"), help="taxonomy mapping file"
    )
    ing.add_argument("--out", type=Path, required=True, help="prepared dataset folder to write")
    ing.add_argument(
        "--allow-unknown",
        action="store_true",
        help="drop boxes whose label the taxonomy neither maps nor ignores (still reported)",
    )
    ing.add_argument("--label-field", default=None, help="FiftyOneDataset: detections field")
    ing.add_argument(
        "--params", type=Path, default=None, help="params file; its 'prepare' section is used"
    )
    ing.add_argument("--frame-stride", type=int, default=None, help="keep every N-th frame")
    ing.add_argument("--seed", type=int, default=None, help="seed of the split")
    _access_log_option(ing)
    ing.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    val = sub.add_parser(
        "validate",
        help="run the Great Expectations suites on a prepared dataset",
        description="The validation of the prepare stage (images, boxes, splits, no clip in "
        "two splits) on a prepared dataset; writes validation.json and index.html.",
    )
    val.add_argument("dataset", type=Path, help="prepared dataset folder")
    val.add_argument(
        "--reports", type=Path, default=Path("reports/data"), help="validation reports folder"
    )
    val.add_argument(
        "--data-docs",
        action="store_true",
        help="also build the GX Data Docs site (its pages load CSS/JS from public CDNs)",
    )
    val.add_argument(
        "--params",
        type=Path,
        default=None,
        help="params file; the coverage targets of its 'prepare' section are checked too",
    )
    _access_log_option(val)
    val.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    acc = sub.add_parser(
        "access-log",
        help="verify or export the data access log (EX-122)",
        description="The hash-chained log of data reads and exports: verify its chain, or "
        "export its entries (csv, jsonl, json, parquet, feather, xlsx by suffix).",
    )
    acc.add_argument("action", choices=("verify", "export"))
    acc.add_argument("--out", type=Path, default=None, help="export: file to write")
    _access_log_option(acc)
    acc.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    _curation_commands(sub)
    return parser


def _access_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--access-log",
        default=None,
        help="data access log (path or URL); default $VEILLEUR_DATA_ACCESS_LOG, else "
        "var/acces-donnees.db",
    )


def _cli_specs(args: argparse.Namespace) -> list[SourceSpec]:
    """The sources given on the command line (SRC …, --format …, --source-yaml …)."""
    srcs: list[Path] = list(args.src)
    formats: list[str] = args.format or []
    sidecars: list[Path] = args.source_yaml or []
    if args.sources is not None:
        if srcs or formats or sidecars:
            raise ValueError(
                "give the sources either as SRC … --format … or in --sources, not both"
            )
        return load_sources_manifest(args.sources)
    if not srcs:
        raise ValueError("no source: give SRC … --format …, or --sources FILE")
    if len(formats) not in (1, len(srcs)):
        raise ValueError(
            f"{len(formats)} --format for {len(srcs)} sources: give one --format for all, "
            "or one per SRC in order"
        )
    if len(sidecars) not in (0, len(srcs)):
        raise ValueError(f"{len(sidecars)} --source-yaml for {len(srcs)} sources: one per SRC")
    specs: list[SourceSpec] = []
    problems: list[Problem] = []
    for i, src in enumerate(srcs):
        fmt = formats[i] if len(formats) > 1 else formats[0]
        try:
            config = load_source_config(sidecars[i] if sidecars else default_sidecar(src))
        except IngestError as exc:
            problems.extend(exc.problems)
            continue
        specs.append(SourceSpec(src, fmt, config, args.allow_unknown, args.label_field))  # type: ignore[arg-type]
    if problems:
        raise IngestError(problems)
    return specs


def _fail(summary: dict[str, Any], message: str, problems: list[str]) -> int:
    summary["ok"] = False
    summary["problems"] = problems
    print(f"ingest failed: {message}", file=sys.stderr)  # noqa: T201
    print(json.dumps(summary, ensure_ascii=False, indent=1))  # noqa: T201
    return 2


def _ingest(args: argparse.Namespace, argv: list[str]) -> int:
    single = args.sources is None and len(args.src) == 1 and len(args.format or []) == 1
    summary: dict[str, Any] = {"ok": False}
    if single:
        summary.update({"src": args.src[0].as_posix(), "format": args.format[0]})
    elif args.sources is not None:
        summary["sources_file"] = args.sources.as_posix()
    log = DataAccessLog(resolve_location(args.access_log), tuple(argv))
    read_paths = [p.as_posix() for p in args.src] + (
        [args.sources.as_posix()] if args.sources is not None else []
    )
    try:
        stage_params = load_params_section(args.params, "prepare", PrepareStageParams)
        params = stage_params.writer_params()
        # Curation (near-duplicates, label checks) with the params file's `curate` section;
        # without a params file it is skipped, as in the prepare stage.
        curate = (
            load_params_section(args.params, "curate", CurateParams)
            if args.params is not None
            else None
        )
        update = {
            k: v
            for k, v in (("frame_stride", args.frame_stride), ("seed", args.seed))
            if v is not None
        }
        params = PrepareParams.model_validate({**params.model_dump(), **update})
        specs = _cli_specs(args)
        read_paths = [s.path.as_posix() for s in specs]
        log.record("read", "ingest", read_paths, sources=[s.config.name for s in specs])
        taxonomy = load_taxonomy(args.taxonomy)
        multi = ingest_sources(specs, taxonomy, allow_unknown=args.allow_unknown)
        if single:
            summary.update(multi.datasets[0].report.as_dict())
        else:
            summary.update(multi.totals())
            summary["sources"] = [d.report.as_dict() for d in multi.datasets]
            summary["label_conflicts"] = [c.as_dict() for c in multi.conflicts]
        for conflict in multi.conflicts:
            print(f"warning: {conflict.message()}", file=sys.stderr)  # noqa: T201
        result = export_prepared(list(multi.datasets), args.out, params, curate)
        log.record(
            "export",
            "ingest",
            [args.out.as_posix()],
            dataset_version=result.dataset_version,
            sources=[d.source for d in multi.datasets],
        )
    except AccessLogError as exc:
        return _fail(summary, str(exc), [str(exc)])
    except IngestError as exc:
        if single and (exc.report is not None or exc.reports):
            summary.update((exc.report or exc.reports[0]).as_dict())
        elif exc.reports:
            summary["sources"] = [r.as_dict() for r in exc.reports]
        _log_failure(log, read_paths, args.out, exc)
        return _fail(summary, str(exc), [str(p) for p in exc.problems])
    except (ParamsError, ValueError) as exc:
        _log_failure(log, read_paths, args.out, exc)
        return _fail(summary, str(exc), [str(exc)])
    summary.update(
        {
            "ok": True,
            "out": result.out_dir.as_posix(),
            "dataset_version": result.dataset_version,
            "splits": {
                split: {k: c[k] for k in ("clips", "images", "boxes")}
                for split, c in result.counts.items()
            },
        }
    )
    print(json.dumps(summary, ensure_ascii=False, indent=1))  # noqa: T201
    return 0


def _log_failure(log: DataAccessLog, paths: list[str], out: Path, exc: Exception) -> None:
    """Record a failed ingest (nothing exported); a log failure here is only reported."""
    try:
        log.record(
            "export", "ingest", [*paths, out.as_posix()], outcome="echec", error=str(exc)[:500]
        )
    except AccessLogError as log_exc:
        print(f"warning: {log_exc}", file=sys.stderr)  # noqa: T201


def _validate(args: argparse.Namespace, argv: list[str]) -> int:
    from veilleur.data.expectations import DatasetReadError, validate_dataset

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)
    log = DataAccessLog(resolve_location(args.access_log), tuple(argv))
    try:
        params = load_params_section(args.params, "prepare", PrepareStageParams)
        log.record("read", "validate", [args.dataset.as_posix()])
        report = validate_dataset(
            args.dataset, args.reports, data_docs=args.data_docs, coverage=params.coverage
        )
    except ParamsError as exc:
        print(f"validate failed: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except AccessLogError as exc:
        print(f"validate failed: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except DatasetReadError as exc:
        print(f"validate failed: the dataset cannot be read: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    json_path = report.json_path or args.reports / "validation.json"
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    summary = {
        "ok": report.success,
        "dataset": args.dataset.as_posix(),
        "dataset_version": doc.get("dataset_version"),
        "evaluated": report.evaluated,
        "failed": len(report.failures),
        "rows": dict(report.rows),
        "report": json_path.as_posix(),
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))  # noqa: T201
    if not report.success:
        for failure in report.failures:
            print(f"expectation failed: {failure.describe()}", file=sys.stderr)  # noqa: T201
        print(  # noqa: T201
            f"dataset {summary['dataset_version']} rejected: {len(report.failures)} of "
            f"{report.evaluated} expectations failed; see {json_path}",
            file=sys.stderr,
        )
        return 1
    return 0


def _access_log(args: argparse.Namespace) -> int:
    from veilleur.data import access_log

    location = resolve_location(args.access_log)
    try:
        if args.action == "verify":
            result = access_log.verify(location)
            print(json.dumps({"log": location, **result.__dict__}, ensure_ascii=False))  # noqa: T201
            return 0 if result.ok else 1
        if args.out is None:
            print("access-log export: --out FILE is required", file=sys.stderr)  # noqa: T201
            return 2
        rows = access_log.export(location, args.out)
    except AccessLogError as exc:
        print(f"access-log {args.action} failed: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except ValueError as exc:  # ExportError: unknown suffix or format
        print(f"access-log export failed: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    print(json.dumps({"log": location, "out": args.out.as_posix(), "entries": rows}))  # noqa: T201
    return 0


# --- FiftyOne curation commands (veilleur.data.curation.fiftyone_dataset) -------------------
# ``fiftyone`` builds (or reuses) the persistent FiftyOne dataset of a prepared folder and
# prints a JSON summary; ``app`` opens the FiftyOne App on it (blocking, local address by
# default). Both exit 2 with a French message when the folder is not a prepared dataset or
# (``app``) when its FiftyOne dataset was never built.


def _curation_commands(sub: Any) -> None:
    for name, text in (
        ("fiftyone", "build the persistent FiftyOne dataset of a prepared dataset"),
        ("app", "open the FiftyOne App on the dataset built by 'veilleur data fiftyone'"),
    ):
        cmd = sub.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]} (docs/donnees-import.md). Database: "
            "FIFTYONE_DATABASE_URI (external MongoDB) or the bundled one in "
            "FIFTYONE_DATABASE_DIR (default var/fiftyone).",
        )
        cmd.add_argument(
            "--data", type=Path, default=Path("data/processed"), help="prepared dataset folder"
        )
        if name == "fiftyone":
            cmd.add_argument(
                "--rebuild", action="store_true", help="rebuild even if this version exists"
            )
        else:
            cmd.add_argument("--port", type=int, default=5151, help="App port")
            cmd.add_argument(
                "--address",
                default="127.0.0.1",
                help="App address (local only by default; 0.0.0.0 exposes it to the network)",
            )
        cmd.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def _fiftyone(args: argparse.Namespace) -> int:
    import contextlib

    from veilleur.data.curation.fiftyone_dataset import (
        FiftyOneDatasetError,
        build_fiftyone_dataset,
    )

    try:
        with contextlib.redirect_stdout(sys.stderr):  # FiftyOne's notices: stdout is the JSON
            summary = build_fiftyone_dataset(args.data, rebuild=args.rebuild)
    except FiftyOneDatasetError as exc:
        print(f"fiftyone : échec — {exc}", file=sys.stderr)  # noqa: T201
        return 2
    print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=1))  # noqa: T201
    return 0


def _app(args: argparse.Namespace) -> int:
    from veilleur.data.curation.fiftyone_dataset import FiftyOneDatasetError, launch_app

    try:
        launch_app(args.data, port=args.port, address=args.address)
    except FiftyOneDatasetError as exc:
        print(f"app : échec — {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``veilleur data``; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "ingest":
        return _ingest(args, argv)
    if args.command == "validate":
        return _validate(args, argv)
    if args.command == "access-log":
        return _access_log(args)
    if args.command == "fiftyone":
        return _fiftyone(args)
    if args.command == "app":
        return _app(args)
    return 2  # pragma: no cover - argparse enforces the sub-command


if __name__ == "__main__":
    raise SystemExit(main())
