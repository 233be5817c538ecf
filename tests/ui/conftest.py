"""Browser tests of the operator interface (EX-045): the real service, Debian's Chromium.

Chromium is Debian's (``scripts/install-debian-deps.sh``), never one downloaded by Playwright,
and it is kept off the network (host resolver rule). Headless, no sandbox (tests run as root in
CI containers). Screenshots of each screen go to ``reports/ui/`` (1920×1080).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright", reason="playwright absent : pip install -e '.[dev]'")

from ui_fixture import CHROMIUM, CHROMIUM_ARGS, UiWorld, serve

if not CHROMIUM.exists():
    pytest.skip(
        "Chromium de Debian absent : lancez scripts/install-debian-deps.sh",
        allow_module_level=True,
    )


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UiWorld]:
    with serve(tmp_path) as world:
        yield world


@pytest.fixture
def ui_evidence(tmp_path: Path) -> Iterator[UiWorld]:
    """The world plus two alerts raised by the engine with snapshots (one altered since) and a
    recorded clip ``essai.mp4`` in the configuration's folder."""
    with serve(tmp_path, evidence=True) as world:
        yield world


@pytest.fixture
def ui_mosaic(tmp_path: Path) -> Iterator[UiWorld]:
    """The world with ten cameras (one more than the live mosaic shows)."""
    with serve(tmp_path, cameras=10) as world:
        yield world


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    args = {k: v for k, v in browser_type_launch_args.items() if k != "channel"}
    return {**args, "executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": {"width": 1920, "height": 1080},
        "locale": "fr-FR",
        "timezone_id": "Europe/Paris",
        "accept_downloads": True,
    }
