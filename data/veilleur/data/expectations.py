"""Great Expectations suites on the prepared detection dataset (contracts §6).

Four tables are built from ``data/processed`` and each is validated by its own suite:

- ``images``: one row per image (split, clip, image id, file, width, height). Images at least
  4CIF (704×576, EX-006), file present, ids non-null and unique within the split.
- ``boxes``: one row per annotation, with its image size. Box inside the image, positive width
  and height, category in the taxonomy, ids non-null, the image known.
- ``splits``: one row per split (train, val, test): at least one clip and one image each.
- ``clip_splits``: one row per distinct (split, clip) pair, from ``splits.json`` and from the
  images: a clip appears in a single split (no leakage between training and evaluation).

:func:`validate_dataset` returns a :class:`ValidationReport` that names, for each failed
expectation, the table, the expectation, and sample rows (split / clip / image / annotation ids)
that broke it. It writes ``validation.json`` and a short, self-contained French ``index.html``
under the reports folder and, on request, the GX Data Docs site under ``<reports>/gx/``. Data Docs
are opt-in because their pages load Bootstrap, jQuery, Vega and fonts from public CDNs when opened
in a browser (an air-gapped site shows them unstyled, and a connected one phones out).

GX is imported lazily (≈ 2.5 s) and with ``GX_ANALYTICS_ENABLED=false``: the product runs
air-gapped and must never phone home.

Example:
    >>> report = validate_dataset(Path("data/processed"), Path("reports/data"))  # doctest: +SKIP
    >>> report.success, report.message()  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import math
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from veilleur.data.splits import SPLITS
from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.runtime.offline import air_gap

if TYPE_CHECKING:
    from great_expectations.expectations.expectation import Expectation

MIN_WIDTH: Final = 704
"""4CIF width (EX-006)."""
MIN_HEIGHT: Final = 576
"""4CIF height (EX-006)."""
MAX_SAMPLES: Final = 20
"""Offending rows kept per failed expectation in the report."""
COORD_DECIMALS: Final = 6
"""Box corners are rounded to this many decimals before comparison (float noise of x + w)."""

IMAGE_COLUMNS: Final = ("split", "clip", "image_id", "file_name", "frame_index", "width", "height")
BOX_COLUMNS: Final = (
    "split",
    "clip",
    "image_id",
    "annotation_id",
    "category",
    "category_id",
    "x1",
    "y1",
    "x2",
    "y2",
    "image_width",
    "image_height",
)
INDEX_COLUMNS: Final[dict[str, list[str]]] = {
    "images": ["split", "clip", "image_id", "file_name"],
    "boxes": ["split", "clip", "image_id", "annotation_id"],
    "splits": ["split"],
    "clip_splits": ["split", "clip"],
}


class DatasetReadError(RuntimeError):
    """The prepared dataset cannot be read; the message names the file."""


@dataclass(frozen=True, slots=True)
class DatasetTables:
    """The tables the suites run on."""

    images: pd.DataFrame
    boxes: pd.DataFrame
    splits: pd.DataFrame
    clip_splits: pd.DataFrame

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        """``(name, frame)`` pairs, in validation order."""
        return [
            ("images", self.images),
            ("boxes", self.boxes),
            ("splits", self.splits),
            ("clip_splits", self.clip_splits),
        ]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetReadError(f"{path} not found: run the prepare stage first") from exc
    except json.JSONDecodeError as exc:
        raise DatasetReadError(f"{path} is not valid JSON: {exc}") from exc


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _corners(bbox: Any) -> tuple[float | None, ...]:
    """``(x1, y1, x2, y2)`` of a COCO ``[x, y, w, h]``; ``None``s when malformed."""
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return (None, None, None, None)
    return tuple(round(v, COORD_DECIMALS) for v in (x, y, x + w, y + h))


def load_tables(dataset_dir: Path) -> DatasetTables:
    """Build the validation tables from a prepared dataset folder.

    Raises:
        DatasetReadError: ``splits.json`` or a split's ``annotations.json`` is missing or broken.
    """
    splits_doc = _read_json(dataset_dir / "splits.json")
    image_rows: list[dict[str, Any]] = []
    box_rows: list[dict[str, Any]] = []
    summary_rows: list[dict[str, Any]] = []
    pairs: set[tuple[str, str]] = set()
    for split in SPLITS:
        listed = [str(c) for c in splits_doc.get(split, [])]
        pairs.update((split, c) for c in listed)
        coco_path = dataset_dir / split / "annotations.json"
        coco = _read_json(coco_path) if coco_path.exists() else {}
        names = {_int(c.get("id")): str(c.get("name")) for c in coco.get("categories", [])}
        image_list = coco.get("images", [])
        images: dict[int | None, dict[str, Any]] = {}
        for image in image_list:
            images.setdefault(_int(image.get("id")), image)  # duplicates: a failed expectation
        for image in image_list:
            clip = image.get("clip")
            if clip is not None:
                pairs.add((split, str(clip)))
            image_rows.append(
                {
                    "split": split,
                    "clip": clip,
                    "image_id": image.get("id"),
                    "file_name": image.get("file_name"),
                    "frame_index": image.get("frame_index"),
                    "width": image.get("width"),
                    "height": image.get("height"),
                    "file_exists": (dataset_dir / split / str(image.get("file_name"))).is_file(),
                }
            )
        annotations = coco.get("annotations", [])
        for ann in annotations:
            image = images.get(_int(ann.get("image_id")), {}) if "image_id" in ann else {}
            x1, y1, x2, y2 = _corners(ann.get("bbox"))
            box_rows.append(
                {
                    "split": split,
                    "clip": image.get("clip"),
                    "image_id": ann.get("image_id"),
                    "annotation_id": ann.get("id"),
                    "category": names.get(_int(ann.get("category_id"))),
                    "category_id": ann.get("category_id"),
                    "x1": x1,
                    "y1": y1,
                    "x2": x2,
                    "y2": y2,
                    "image_width": image.get("width"),
                    "image_height": image.get("height"),
                }
            )
        summary_rows.append(
            {
                "split": split,
                "clips": len({c for s, c in pairs if s == split}),
                "images": len(image_list),
                "boxes": len(annotations),
            }
        )
    return DatasetTables(
        images=pd.DataFrame(image_rows, columns=[*IMAGE_COLUMNS, "file_exists"]),
        boxes=pd.DataFrame(box_rows, columns=list(BOX_COLUMNS)),
        splits=pd.DataFrame(summary_rows, columns=["split", "clips", "images", "boxes"]),
        clip_splits=pd.DataFrame(sorted(pairs), columns=["split", "clip"]),
    )


def build_expectations() -> dict[str, list[Expectation]]:
    """The expectations of each table (imports GX)."""
    gxe = _import_gx().expectations

    def not_null(*columns: str) -> list[Expectation]:
        return [
            gxe.ExpectColumnValuesToNotBeNull(column=c, description=f"{c} renseigné")
            for c in columns
        ]

    return {
        "images": [
            *not_null("split", "clip", "image_id", "file_name", "width", "height"),
            gxe.ExpectColumnValuesToBeBetween(
                column="width",
                min_value=MIN_WIDTH,
                description=f"EX-006: image width ≥ {MIN_WIDTH} px (4CIF)",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="height",
                min_value=MIN_HEIGHT,
                description=f"EX-006: image height ≥ {MIN_HEIGHT} px (4CIF)",
            ),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["split", "image_id"], description="image ids unique within a split"
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="file_exists", value_set=[True], description="image file present"
            ),
        ],
        "boxes": [
            *not_null("split", "clip", "image_id", "annotation_id", "category"),
            *not_null("x1", "y1", "x2", "y2", "image_width", "image_height"),
            gxe.ExpectColumnValuesToBeInSet(
                column="category", value_set=list(CLASSES), description="category in the taxonomy"
            ),
            gxe.ExpectColumnValuesToBeBetween(column="x1", min_value=0, description="x1 ≥ 0"),
            gxe.ExpectColumnValuesToBeBetween(column="y1", min_value=0, description="y1 ≥ 0"),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="image_width", column_B="x2", or_equal=True, description="x2 ≤ width"
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="image_height", column_B="y2", or_equal=True, description="y2 ≤ height"
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="x2", column_B="x1", or_equal=False, description="box width > 0"
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="y2", column_B="y1", or_equal=False, description="box height > 0"
            ),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["split", "annotation_id"],
                description="annotation ids unique within a split",
            ),
        ],
        "splits": [
            gxe.ExpectColumnValuesToBeBetween(
                column="clips", min_value=1, description="no empty split (clips)"
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="images", min_value=1, description="no empty split (images)"
            ),
        ],
        "clip_splits": [
            gxe.ExpectColumnValuesToBeUnique(
                column="clip", description="a clip is in one split only (no leakage)"
            ),
        ],
    }


@dataclass(frozen=True, slots=True)
class FailedExpectation:
    """One expectation that failed, with the rows that broke it."""

    table: str
    expectation: str
    kwargs: Mapping[str, Any]
    description: str | None
    unexpected_count: int | None
    samples: tuple[Mapping[str, Any], ...]
    observed: Any = None
    error: str | None = None

    def describe(self) -> str:
        """One line: which expectation failed on which samples."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        what = f"{self.table}: {self.expectation}({args})"
        if self.description:
            what += f" [{self.description}]"
        if self.error:
            return f"{what} raised: {self.error}"
        if self.samples:
            shown = " | ".join(_sample_text(s) for s in self.samples[:5])
            more = " | …" if (self.unexpected_count or 0) > 5 else ""
            return f"{what} failed on {self.unexpected_count} rows: {shown}{more}"
        return f"{what} failed; observed {self.observed!r}"


def _sample_text(sample: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sample.items())


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of :func:`validate_dataset`."""

    success: bool
    evaluated: int
    failures: tuple[FailedExpectation, ...]
    rows: Mapping[str, int]
    json_path: Path | None = None
    html_path: Path | None = None
    data_docs_index: Path | None = None

    def message(self) -> str:
        """Human summary; one line per failed expectation."""
        if self.success:
            return f"all {self.evaluated} expectations passed ({dict(self.rows)})"
        lines = [f"{len(self.failures)} of {self.evaluated} expectations failed:"]
        lines += [f"- {f.describe()}" for f in self.failures]
        return "\n".join(lines)


def _import_gx() -> Any:
    air_gap()
    import great_expectations as gx

    return gx


def _plain(value: Any) -> Any:
    """JSON-friendly copy (numpy scalars → Python)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _failure(table: str, result: Any) -> FailedExpectation:
    config = result.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k != "batch_id"}
    details: Mapping[str, Any] = result.result or {}
    samples = tuple(_plain(s) for s in (details.get("unexpected_index_list") or [])[:MAX_SAMPLES])
    info = result.exception_info or {}
    error = info.get("exception_message") if info.get("raised_exception") else None
    return FailedExpectation(
        table=table,
        expectation=str(config.type),
        kwargs=_plain(kwargs),
        description=config.description,
        unexpected_count=details.get("unexpected_count"),
        samples=samples,
        observed=_plain(details.get("observed_value")),
        error=error,
    )


def run_suites(
    tables: DatasetTables, data_docs_dir: Path | None = None
) -> tuple[int, list[FailedExpectation], list[dict[str, Any]]]:
    """Run every suite on its table.

    Returns:
        The number of expectations evaluated, the failures, and one JSON-friendly record per
        expectation.
    """
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # The ephemeral context ships a "local_site" in a fresh temp dir: drop it, or every run
    # leaves a Data Docs copy in /tmp.
    for site in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(site)
    actions: list[Any] = []
    if data_docs_dir is not None:
        if data_docs_dir.exists():
            shutil.rmtree(data_docs_dir)
        context.add_data_docs_site(
            "veilleur",
            {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir.resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs"))

    source = context.data_sources.add_pandas("veilleur_prepared")
    expectations = build_expectations()
    failures: list[FailedExpectation] = []
    records: list[dict[str, Any]] = []
    evaluated = 0
    for table, frame in tables.items():
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe(table)
        suite = context.suites.add(gx.ExpectationSuite(name=f"prepared_{table}"))
        for expectation in expectations[table]:
            suite.add_expectation(expectation)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"prepared_{table}", data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"prepared_{table}",
                validation_definitions=[definition],
                actions=actions,
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": INDEX_COLUMNS[table],
                },
            )
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        for run_result in outcome.run_results.values():
            for result in run_result.results:
                evaluated += 1
                record = {
                    "table": table,
                    "expectation": str(result.expectation_config.type),
                    "description": result.expectation_config.description,
                    "success": bool(result.success),
                }
                if not result.success:
                    failure = _failure(table, result)
                    failures.append(failure)
                    record.update(
                        kwargs=failure.kwargs,
                        unexpected_count=failure.unexpected_count,
                        samples=list(failure.samples),
                        observed=failure.observed,
                        error=failure.error,
                        message=failure.describe(),
                    )
                records.append(record)
    return evaluated, failures, records


def validate_dataset(
    dataset_dir: Path, reports_dir: Path, *, data_docs: bool = False
) -> ValidationReport:
    """Validate a prepared dataset and write the reports.

    Writes ``reports_dir/validation.json``, ``reports_dir/index.html`` and, when ``data_docs``,
    the GX Data Docs site ``reports_dir/gx/index.html`` (removed otherwise, so that it never
    describes an older run).

    Raises:
        DatasetReadError: the dataset's JSON files are missing or broken.
    """
    tables = load_tables(dataset_dir)
    docs_dir = reports_dir / "gx" if data_docs else None
    if docs_dir is None and (reports_dir / "gx").is_dir():
        shutil.rmtree(reports_dir / "gx")  # a previous run's site would not match this one
    evaluated, failures, records = run_suites(tables, docs_dir)
    rows = {name: len(frame) for name, frame in tables.items()}
    reports_dir.mkdir(parents=True, exist_ok=True)
    json_path = reports_dir / "validation.json"
    html_path = reports_dir / "index.html"
    success = not failures
    summary = {
        "success": success,
        "dataset_dir": dataset_dir.as_posix(),
        "dataset_version": _dataset_version(dataset_dir),
        "evaluated": evaluated,
        "failed": len(failures),
        "rows": rows,
        "expectations": records,
    }
    json_path.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", "utf-8")
    docs_index = docs_dir / "index.html" if docs_dir is not None else None
    html_path.write_text(_html(summary, records, docs_index, reports_dir), encoding="utf-8")
    return ValidationReport(
        success=success,
        evaluated=evaluated,
        failures=tuple(failures),
        rows=rows,
        json_path=json_path,
        html_path=html_path,
        data_docs_index=docs_index,
    )


def _dataset_version(dataset_dir: Path) -> str | None:
    manifest = dataset_dir / "manifest.json"
    if not manifest.is_file():
        return None
    version = json.loads(manifest.read_text(encoding="utf-8")).get("dataset_version")
    return None if version is None else str(version)


def _html(
    summary: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    docs_index: Path | None,
    reports_dir: Path,
) -> str:
    esc = html.escape
    verdict = "conforme" if summary["success"] else "NON CONFORME"
    rows = "\n".join(
        "<tr class='{cls}'><td>{table}</td><td>{exp}</td><td>{desc}</td><td>{status}</td>"
        "<td>{detail}</td></tr>".format(
            cls="ok" if r["success"] else "ko",
            table=esc(str(r["table"])),
            exp=esc(str(r["expectation"])),
            desc=esc(str(r.get("description") or "")),
            status="réussie" if r["success"] else "échouée",
            detail=esc(str(r.get("message", ""))),
        )
        for r in records
    )
    link = ""
    if docs_index is not None:
        rel = docs_index.relative_to(reports_dir).as_posix()
        link = f"<p><a href='{esc(rel)}'>Great Expectations Data Docs</a></p>"
    counts = _li(f"{name} : {n} lignes" for name, n in summary["rows"].items())
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Validation des données</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #999;padding:4px}}
table{{border-collapse:collapse}}tr.ko{{background:#fdd}}tr.ok{{background:#efe}}</style>
</head><body>
<h1>Validation du jeu de données préparé : {verdict}</h1>
<p>Version du jeu : <code>{esc(str(summary["dataset_version"]))}</code></p>
<p>{summary["evaluated"]} attentes évaluées, {summary["failed"]} en échec.</p>
<h2>Tables</h2><ul>{counts}</ul>
<h2>Attentes</h2>
<table><tr><th>Table</th><th>Attente</th><th>Description</th><th>Statut</th><th>Détail</th></tr>
{rows}
</table>
{link}
</body></html>
"""


def _li(items: Iterable[str]) -> str:
    return "".join(f"<li>{html.escape(i)}</li>" for i in items)
