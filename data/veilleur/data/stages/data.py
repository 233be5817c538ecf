"""``veilleur data …``: the data scientist's commands on real datasets.

Usage::

    veilleur data ingest SRC --format coco|yolo|cvat|voc|fiftyone [--source-yaml SRC/source.yaml]
        [--taxonomy data/taxonomy.yaml] --out DIR [--allow-unknown] [--label-field FIELD]
        [--params params.yaml] [--frame-stride N] [--seed S]

``ingest`` reads SRC in the given format, maps its labels through the taxonomy file, attaches
the provenance and metadata of the source sidecar, and writes the prepared detection dataset
(contracts §6) under DIR. It prints a JSON summary on stdout (samples, boxes per class,
ignored and unknown labels, events, splits, dataset version).

Exit status: 0 when the dataset is written; 2 on bad input (every problem is listed on stderr,
naming the file and the line or element, and the summary says ``"ok": false``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from veilleur.data.ingest import (
    FORMATS,
    IngestError,
    export_prepared,
    ingest,
    load_source_config,
    load_taxonomy,
)
from veilleur.data.prepare import PrepareParams
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
    ing.add_argument("src", type=Path, help="dataset folder (or the COCO/CVAT annotation file)")
    ing.add_argument("--format", required=True, choices=FORMATS, help="annotation format")
    ing.add_argument(
        "--source-yaml",
        type=Path,
        default=None,
        help="source sidecar (provenance, metadata); default SRC/source.yaml",
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
    ing.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def _sidecar(args: argparse.Namespace) -> Path:
    if args.source_yaml is not None:
        return Path(args.source_yaml)
    folder = args.src if args.src.is_dir() else args.src.parent
    return Path(folder) / "source.yaml"


def _ingest(args: argparse.Namespace) -> int:
    summary: dict[str, Any] = {"ok": False, "src": args.src.as_posix(), "format": args.format}
    try:
        params = load_params_section(args.params, "prepare", PrepareParams)
        update = {
            k: v
            for k, v in (("frame_stride", args.frame_stride), ("seed", args.seed))
            if v is not None
        }
        params = PrepareParams.model_validate({**params.model_dump(), **update})
        source = load_source_config(_sidecar(args))
        taxonomy = load_taxonomy(args.taxonomy)
        dataset = ingest(
            args.src,
            args.format,
            source,
            taxonomy,
            allow_unknown=args.allow_unknown,
            label_field=args.label_field,
        )
        summary.update(dataset.report.as_dict())
        result = export_prepared([dataset], args.out, params)
    except IngestError as exc:
        if exc.report is not None:
            summary.update(exc.report.as_dict())
        summary["ok"] = False
        summary["problems"] = [str(p) for p in exc.problems]
        print(f"ingest failed: {exc}", file=sys.stderr)  # noqa: T201
        print(json.dumps(summary, ensure_ascii=False, indent=1))  # noqa: T201
        return 2
    except (ParamsError, ValueError) as exc:
        summary["problems"] = [str(exc)]
        print(f"ingest failed: {exc}", file=sys.stderr)  # noqa: T201
        print(json.dumps(summary, ensure_ascii=False, indent=1))  # noqa: T201
        return 2
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


def main(argv: list[str] | None = None) -> int:
    """Run ``veilleur data``; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "ingest":
        return _ingest(args)
    return 2  # pragma: no cover - argparse enforces the sub-command


if __name__ == "__main__":
    raise SystemExit(main())
