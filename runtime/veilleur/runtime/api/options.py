"""Where the service keeps its files, and its licence: set by ``veilleur serve``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServiceOptions:
    config_path: Path | None = None
    """The site configuration YAML the running engine was loaded from (None: none)."""
    backup_dir: Path | None = None
    log_file: Path | None = None
    retention_file: Path | None = None
    snapshot_dir: Path | None = None
    licence_streams: int | None = None
    """Streams analysed at once that the licence allows (floating; None: no limit set)."""
    data_dirs: tuple[Path, ...] = field(default_factory=tuple)
    """Folders whose free space health and metrics watch (journal, snapshots, backups)."""
    watch_clock: bool = False
    """Show the clock synchronisation in health (EX-118); ``veilleur serve`` turns it on."""
