"""DVC stage ``synth``: generate the synthetic clip bundle (contracts §3).

Usage::

    python -m veilleur.data.stages.synth --params params.yaml --out data/raw/synth
    python -m veilleur.data.stages.synth --out /tmp/demo --clips 4 --seed 7 --workers 2

Exit status: 0 when the bundle is written; 2 when the parameters cannot be used (the message
says what to fix).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from veilleur.data.synth import SynthParams, generate
from veilleur.runtime.config import load_params_section

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The stage's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m veilleur.data.stages.synth",
        description="Generate deterministic synthetic CCTV clips with their ground truth.",
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="params file; its 'synth' section is used (defaults when absent)",
    )
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    parser.add_argument("--clips", type=int, default=None, help="override synth.n_clips")
    parser.add_argument("--seed", type=int, default=None, help="override synth.seed")
    parser.add_argument(
        "--duration", type=float, default=None, help="override synth.duration_s (seconds)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="parallel processes (output is identical)"
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
    overrides = {
        key: value
        for key, value in (
            ("n_clips", args.clips),
            ("seed", args.seed),
            ("duration_s", args.duration),
        )
        if value is not None
    }
    try:
        params = load_params_section(args.params, "synth", SynthParams)
        if overrides:
            params = type(params).model_validate({**params.model_dump(), **overrides})
    except (ValidationError, ValueError) as exc:
        logger.error("synth: invalid parameters: %s", exc)
        return 2
    if args.workers < 1:
        logger.error("synth: --workers must be at least 1")
        return 2
    started = time.perf_counter()
    manifest = generate(params, args.out, workers=args.workers)
    elapsed = time.perf_counter() - started
    scenarios = Counter(c.metadata["scenario"] for c in manifest.clips)
    logger.info(
        "synth: %d clips (%s) written to %s in %.1f s (%.1f s per clip)",
        len(manifest.clips),
        ", ".join(f"{k}={v}" for k, v in sorted(scenarios.items())),
        args.out,
        elapsed,
        elapsed / max(1, len(manifest.clips)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
