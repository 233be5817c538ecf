"""Process settings of ``veilleur serve`` (environment ``VEILLEUR_*``), built once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VEILLEUR_", extra="forbid")

    config: Path = Field(Path("site.yaml"), description="Site configuration YAML.")
    journal: str = Field("var/journal.db", description="Journal SQLite path or SQLAlchemy URL.")
    model: Path | None = Field(None, description="Detector ONNX file (overrides the config's).")
    host: str = Field("127.0.0.1", description="Listen address; local only by default (EX-111).")
    port: int = Field(8080, ge=1, le=65535)
