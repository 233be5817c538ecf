"""Command ``models``: the MLflow model registry (list versions, promote along the aliases).

Usage::

    veilleur models list [--name veilleur-detector] [--json] [--mlflow-uri URI]
    veilleur models promote --name veilleur-detector --version 3 --alias validated \
        --reason "rapport de validation du 2026-05-02" [--by NAME] [--mlflow-uri URI]

Aliases, in order: ``candidate`` (set by ``veilleur export``), ``validated`` (refused unless the
validation report's gates passed on the model's training run), ``deployed`` (refused unless the
version was validated). Exit codes: 0 done, 2 promotion refused.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict

from veilleur.runtime.offline import air_gap

log = logging.getLogger("veilleur.training.stages.models")

EXIT_REFUSED = 2


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="veilleur models", description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow-uri", default="sqlite:///mlflow.db", help="tracking/registry")
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="versions, aliases, SHA-256, dataset version, gates")
    ls.add_argument("--name", action="append", default=None, help="registered model (repeat)")
    ls.add_argument("--json", action="store_true", help="print JSON rows")
    ls.add_argument("--mlflow-uri", default=argparse.SUPPRESS)
    pr = sub.add_parser("promote", help="move an alias to a version (rules enforced)")
    pr.add_argument("--name", required=True, help="e.g. veilleur-detector")
    pr.add_argument("--version", required=True)
    pr.add_argument("--alias", required=True, choices=("candidate", "validated", "deployed"))
    pr.add_argument("--reason", required=True, help="why (recorded on the model version)")
    pr.add_argument("--by", default=None, help="who (default: the current user)")
    pr.add_argument("--mlflow-uri", default=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    air_gap()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    for name in ("alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from veilleur.training.registry import PromotionRefused, list_versions, promote

    if args.command == "list":
        rows = list_versions(args.mlflow_uri, args.name)
        if args.json:
            _out(json.dumps([asdict(r) for r in rows], indent=2))
            return 0
        header = ("name", "version", "aliases", "sha256", "dataset", "gates", "run", "created")
        _out("\t".join(header))
        for r in rows:
            _out(
                "\t".join(
                    (
                        r.name,
                        r.version,
                        ",".join(r.aliases) or "-",
                        r.sha256[:16] or "-",
                        r.dataset_version[:16] or "-",
                        r.gates,
                        r.run_id,
                        r.created_utc,
                    )
                )
            )
        return 0
    by = args.by or getpass.getuser()
    try:
        record = promote(args.mlflow_uri, args.name, args.version, args.alias, by, args.reason)
    except PromotionRefused as exc:
        log.error("promotion refused: %s", exc)
        return EXIT_REFUSED
    _out(json.dumps({"name": args.name, "version": args.version, **record}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
