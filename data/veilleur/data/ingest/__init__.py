"""Ingest real annotated datasets (COCO, YOLO, CVAT, Pascal VOC, FiftyOne) into the project's
taxonomy, with provenance and metadata on every sample (EX-047, EX-048, EX-084, EX-086).

One module per format (:mod:`.coco`, :mod:`.yolo`, :mod:`.cvat`, :mod:`.voc`,
:mod:`.fiftyone`), the common model (:mod:`.model`), the source sidecar (:mod:`.source`), the
taxonomy mapping file (:mod:`.taxonomy`), clip events (:mod:`.events`), the mapping and checks
(:mod:`.build`), several sources together with their sources manifest and cross-source checks
(:mod:`.multi`) and the writer of the prepared dataset (:mod:`.export`). No network, and
FiftyOne is never imported (its exports are read as JSON).

Example:
    >>> from pathlib import Path
    >>> ds = ingest(Path("raw/parvis"), "cvat", load_source_config(Path("raw/parvis/source.yaml")),
    ...             load_taxonomy(Path("data/taxonomy.yaml")))  # doctest: +SKIP
    >>> export_prepared([ds], Path("data/processed"), PrepareParams())  # doctest: +SKIP
"""

from __future__ import annotations

from veilleur.data.ingest.build import ingest
from veilleur.data.ingest.export import ExportResult, export_prepared
from veilleur.data.ingest.model import (
    FORMATS,
    Box,
    Event,
    Format,
    IngestedDataset,
    IngestError,
    IngestReport,
    Problem,
    Provenance,
    Sample,
    SampleMetadata,
)
from veilleur.data.ingest.source import SourceConfig, load_source_config
from veilleur.data.ingest.taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "FORMATS",
    "Box",
    "Event",
    "ExportResult",
    "Format",
    "IngestError",
    "IngestReport",
    "IngestedDataset",
    "Problem",
    "Provenance",
    "Sample",
    "SampleMetadata",
    "SourceConfig",
    "Taxonomy",
    "export_prepared",
    "ingest",
    "load_source_config",
    "load_taxonomy",
]
