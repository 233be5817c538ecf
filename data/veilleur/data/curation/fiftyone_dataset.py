"""A persistent FiftyOne dataset per prepared dataset version, for browsing and curating.

:func:`sample_records` (pure file reading, no FiftyOne) turns a prepared folder (contracts §6)
into one record per image: the absolute ``filepath``; ``ground_truth`` boxes (FiftyOne's
relative ``[x, y, w, h]``, with ``track_id``, ``annotation_id``); fields ``split``, ``clip``,
``frame_index``, ``timestamp_s``, ``image_id``; the metadata slices (``lighting``, ``weather``,
``camera_height_m``, ``density``, … from the COCO image entry, else from the clip's entry in
``splits.json``); provenance fields ``provenance_*``; ``curation`` (the French messages of the
findings on this image); tags = the split, ``near_duplicate`` (an image kept in place of
near-duplicates of other clips, or one side of a cross-split near-duplicate) and the name of
every finding check (``tiny_box``, ``missing_label``, …) read from ``curation.json``.

:func:`build_fiftyone_dataset` loads these records into the persistent dataset
``veilleur-<dataset_version[:12]>``: the same version, from the same folder, is reused unless
``rebuild`` (a copy of the version elsewhere is rebuilt: the samples' paths are absolute).
:func:`launch_app` opens the FiftyOne App on it, on the local address by default.

Database: FiftyOne's bundled MongoDB by default, its files under ``FIFTYONE_DATABASE_DIR``
(``var/fiftyone`` when unset); ``FIFTYONE_DATABASE_URI`` points at a team's MongoDB instead.
:func:`configure_database` sets this up and must run before FiftyOne is imported; FiftyOne is
imported inside the functions only (its import takes seconds and starts nothing by itself, the
first database use starts ``mongod``). Telemetry is off (:func:`veilleur.runtime.offline.air_gap`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veilleur.data.curation.curate import CURATION_NAME, DEFAULT_SPLITS
from veilleur.runtime.offline import air_gap

DEFAULT_DB_DIR = Path("var/fiftyone")
NEAR_DUPLICATE_TAG = "near_duplicate"
# Sample fields FiftyOne owns or this module sets: metadata keys with these names get "meta_".
_RESERVED = frozenset(
    {
        "id",
        "filepath",
        "tags",
        "metadata",
        "media_type",
        "created_at",
        "last_modified_at",
        "ground_truth",
        "split",
        "clip",
        "frame_index",
        "timestamp_s",
        "image_id",
        "curation",
        "kind",
        "source",
    }
)


class FiftyOneDatasetError(RuntimeError):
    """The prepared folder or the FiftyOne dataset cannot be used; the message is in French."""


@dataclass(frozen=True, slots=True)
class PreparedInfo:
    """What identifies a prepared folder."""

    root: Path
    dataset_version: str
    name: str


@dataclass(frozen=True, slots=True)
class BuildSummary:
    """What :func:`build_fiftyone_dataset` did."""

    name: str
    dataset_version: str
    samples: int
    reused: bool
    tags: dict[str, int]
    database: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (printed by ``veilleur data fiftyone``)."""
        return {
            "name": self.name,
            "dataset_version": self.dataset_version,
            "samples": self.samples,
            "reused": self.reused,
            "tags": self.tags,
            "database": self.database,
        }


def dataset_name(version: str) -> str:
    """The FiftyOne dataset name of a prepared dataset version."""
    return f"veilleur-{version[:12]}"


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FiftyOneDatasetError(
            f"{path} introuvable : {what} ; préparez d'abord le jeu (veilleur prepare ou "
            "veilleur data ingest)"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise FiftyOneDatasetError(f"{path} illisible ({exc}) ; relancez la préparation") from exc


def prepared_info(root: Path) -> PreparedInfo:
    """Read ``root/manifest.json``'s ``dataset_version``.

    Raises:
        FiftyOneDatasetError: no manifest, or no version in it.
    """
    manifest = _read_json(root / "manifest.json", "ce dossier n'est pas un jeu préparé")
    version = manifest.get("dataset_version") if isinstance(manifest, dict) else None
    if not isinstance(version, str) or not version:
        raise FiftyOneDatasetError(
            f"{root / 'manifest.json'} n'a pas de dataset_version ; relancez la préparation"
        )
    return PreparedInfo(root, version, dataset_name(version))


def _scalar(value: Any) -> Any:
    """A FiftyOne-friendly field value; numbers as floats (one field type whatever the source)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _curation_tags(root: Path) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """Tags and finding messages per sample id, from ``curation.json`` (absent: none)."""
    path = root / CURATION_NAME
    tags: dict[str, set[str]] = {}
    messages: dict[str, list[str]] = {}
    if not path.is_file():
        return tags, messages
    doc = _read_json(path, "rapport de curation")
    for kept in doc.get("near_duplicate_groups", {}):
        tags.setdefault(kept, set()).add(NEAR_DUPLICATE_TAG)
    for finding in doc.get("findings", []):
        for sid in finding.get("sample_ids", []):
            tags.setdefault(sid, set()).add(str(finding["check"]))
            messages.setdefault(sid, []).append(str(finding["message"]))
            if finding["check"] == "cross_split_duplicate":
                tags[sid].add(NEAR_DUPLICATE_TAG)
    return tags, messages


def _fields(out: dict[str, Any], values: Mapping[str, Any], prefix: str = "") -> None:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if not prefix and name in _RESERVED:
            name = f"meta_{key}"
        out.setdefault(name, _scalar(value))


def sample_records(root: Path) -> tuple[PreparedInfo, list[dict[str, Any]]]:
    """One JSON-ready record per image of the prepared folder (see the module docstring).

    Raises:
        FiftyOneDatasetError: no manifest or an unreadable COCO.
    """
    info = prepared_info(root)
    splits_doc = _read_json(root / "splits.json", "liste des clips par split")
    clips: Mapping[str, Any] = splits_doc.get("clips", {}) if isinstance(splits_doc, dict) else {}
    manifest = _read_json(root / "manifest.json", "manifeste du jeu")
    source = manifest.get("source", {}) if isinstance(manifest, dict) else {}
    synth_provenance = {
        "source": "synth",
        "generator_version": source.get("generator_version"),
        "raw_dir": source.get("raw_dir"),
    }
    tags_of, messages_of = _curation_tags(root)
    records: list[dict[str, Any]] = []
    for split in DEFAULT_SPLITS:
        coco = _read_json(root / split / "annotations.json", f"annotations du split {split}")
        names = {int(c["id"]): str(c["name"]) for c in coco.get("categories", [])}
        anns: dict[int, list[Mapping[str, Any]]] = {}
        for ann in coco.get("annotations", []):
            anns.setdefault(int(ann["image_id"]), []).append(ann)
        for image in coco.get("images", []):
            sid = f"{split}/{image['file_name']}"
            width, height = float(image["width"]), float(image["height"])
            clip = image.get("clip")
            record: dict[str, Any] = {
                "filepath": str((root / sid).resolve()),
                "sample_id": sid,
                "width": int(width),
                "height": int(height),
                "tags": [split, *sorted(tags_of.get(sid, set()))],
                "split": split,
                "clip": clip,
                "frame_index": image.get("frame_index"),
                "timestamp_s": image.get("timestamp_s"),
                "image_id": int(image["id"]),
                "kind": image.get("kind", "video"),
                "source": image.get("source", "synth"),
                "curation": messages_of.get(sid, []),
                "ground_truth": [
                    {
                        "label": names.get(int(a["category_id"]), str(a["category_id"])),
                        "bounding_box": [
                            float(a["bbox"][0]) / width,
                            float(a["bbox"][1]) / height,
                            float(a["bbox"][2]) / width,
                            float(a["bbox"][3]) / height,
                        ],
                        "annotation_id": int(a["id"]),
                        "track_id": a.get("track_id"),
                        "iscrowd": int(a.get("iscrowd", 0)),
                    }
                    for a in anns.get(int(image["id"]), [])
                ],
            }
            clip_entry = clips.get(str(clip), {}) if clip is not None else {}
            _fields(record, image.get("metadata") or {})
            _fields(record, clip_entry.get("metadata") or {})
            provenance = image.get("provenance") or clip_entry.get("provenance")
            _fields(record, provenance or synth_provenance, "provenance_")
            records.append(record)
    return info, records


def configure_database() -> str:
    """Point FiftyOne at its database (before its import); return a description of it.

    ``FIFTYONE_DATABASE_URI`` set: that MongoDB. Otherwise the bundled one, with its files in
    ``FIFTYONE_DATABASE_DIR`` (made absolute; ``var/fiftyone`` when unset).
    """
    air_gap()
    uri = os.environ.get("FIFTYONE_DATABASE_URI")
    if uri:
        return "MongoDB externe (FIFTYONE_DATABASE_URI)"
    db_dir = Path(os.environ.get("FIFTYONE_DATABASE_DIR") or DEFAULT_DB_DIR).resolve()
    os.environ["FIFTYONE_DATABASE_DIR"] = str(db_dir)
    # the bundled mongod (6.0) is the pinned one: skip the version notice FiftyOne prints on
    # stdout, which carries the command's JSON summary
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    return f"MongoDB embarquée ({db_dir})"


def _load_records(name: str, info: PreparedInfo, records: list[dict[str, Any]]) -> Any:
    import fiftyone as fo

    dataset = fo.Dataset(name, persistent=True)
    dataset.info = {
        "dataset_version": info.dataset_version,
        "prepared_dir": str(info.root.resolve()),
    }
    samples = []
    for rec in records:
        fields = {
            k: v
            for k, v in rec.items()
            if k not in ("filepath", "tags", "ground_truth", "width", "height", "sample_id")
        }
        sample = fo.Sample(
            filepath=rec["filepath"],
            tags=list(rec["tags"]),
            metadata=fo.ImageMetadata(width=rec["width"], height=rec["height"]),
            sample_id=rec["sample_id"],
            **fields,
        )
        sample["ground_truth"] = fo.Detections(
            detections=[
                fo.Detection(
                    label=d["label"],
                    bounding_box=d["bounding_box"],
                    annotation_id=d["annotation_id"],
                    track_id=d["track_id"],
                    iscrowd=d["iscrowd"],
                )
                for d in rec["ground_truth"]
            ]
        )
        samples.append(sample)
    dataset.add_samples(samples, dynamic=True, progress=False)  # stdout carries the summary
    dataset.save()
    return dataset


def build_fiftyone_dataset(root: Path, rebuild: bool = False) -> BuildSummary:
    """Build (or reuse) the persistent FiftyOne dataset of the prepared folder ``root``.

    Raises:
        FiftyOneDatasetError: the folder is not a prepared dataset.
    """
    info, records = sample_records(root)
    database = configure_database()
    import fiftyone as fo

    dataset = None
    if fo.dataset_exists(info.name) and not rebuild:
        dataset = fo.load_dataset(info.name)
        if dataset.info.get("prepared_dir") != str(root.resolve()):
            dataset = None  # same version moved elsewhere: its file paths are stale
    reused = dataset is not None
    if dataset is None:
        if fo.dataset_exists(info.name):
            fo.delete_dataset(info.name)
        dataset = _load_records(info.name, info, records)
    return BuildSummary(
        name=info.name,
        dataset_version=info.dataset_version,
        samples=len(dataset),
        reused=reused,
        tags=dict(sorted(dataset.count_sample_tags().items())),
        database=database,
    )


def _never_built(info: PreparedInfo, database: str) -> FiftyOneDatasetError:
    return FiftyOneDatasetError(
        f"le jeu FiftyOne {info.name} (version {info.dataset_version[:12]}) n'existe pas dans "
        f"la {database} : construisez-le d'abord avec « veilleur data fiftyone --data "
        f"{info.root} »"
    )


def open_dataset(root: Path) -> tuple[PreparedInfo, Any]:
    """The FiftyOne dataset already built for ``root`` (FiftyOne imported).

    Raises:
        FiftyOneDatasetError: no manifest, or the dataset was never built.
    """
    info = prepared_info(root)
    database = configure_database()
    db_dir = os.environ.get("FIFTYONE_DATABASE_DIR")
    bundled = not os.environ.get("FIFTYONE_DATABASE_URI")
    if bundled and db_dir and not any(Path(db_dir).glob("*")):
        raise _never_built(info, database)  # no database yet: no need to start one
    import fiftyone as fo

    if not fo.dataset_exists(info.name):
        raise _never_built(info, database)
    return info, fo.load_dataset(info.name)


def launch_app(root: Path, port: int = 5151, address: str = "127.0.0.1") -> None:
    """Open the FiftyOne App on the dataset of ``root`` and block until interrupted.

    Raises:
        FiftyOneDatasetError: no manifest, or the dataset was never built.
    """
    info, dataset = open_dataset(root)
    import fiftyone as fo

    session = fo.launch_app(dataset, port=port, address=address, remote=True)
    print(  # noqa: T201
        f"App FiftyOne sur http://{address}:{port} (jeu {info.name}, {len(dataset)} images) ; "
        "Ctrl-C pour arrêter",
        flush=True,
    )
    session.wait()
