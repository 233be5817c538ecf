"""The runtime is the light core: importing all of it never loads the training stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "lightning", "mlflow", "fiftyone", "great_expectations", "dvc", "albumentations")


@pytest.mark.req("EX-013")
def test_runtime_never_imports_training_stack(repo_root):
    code = f"""
import pkgutil, sys, importlib
import veilleur.runtime as rt
for m in pkgutil.walk_packages(rt.__path__, "veilleur.runtime."):
    importlib.import_module(m.name)
import veilleur.cli
from veilleur.runtime.api.app import create_app
from veilleur.runtime.engine import Engine
loaded = sorted(h for h in {HEAVY!r} if h in sys.modules)
print("LOADED", loaded)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root, check=True
    )
    assert "LOADED []" in out.stdout, out.stdout + out.stderr


@pytest.mark.req("EX-013")
def test_runtime_extras_do_not_depend_on_training_stack(repo_root):
    import re
    import tomllib

    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    for group in ("runtime", "gpu"):
        deps = project["dependencies"] + project["optional-dependencies"][group]
        names = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps}
        heavy = {"torch", "lightning", "mlflow", "fiftyone", "great-expectations", "dvc"}
        assert not names & heavy, f"{group}: {sorted(names & heavy)}"
    assert not {"onnxruntime"} & {
        re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0] for d in project["optional-dependencies"]["gpu"]
    }
