"""The package's layers (pyproject.toml, [tool.importlinter]) hold, and the check can fail.

Front ends (cli, web) on top of the engine, the stages below it in the order data flows, the
settings a leaf, the offline tools (qa.offline) out of the answering path. docs/architecture.md
draws them.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (pip install -e '.[test]')")


def _lint(where: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=where, env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]
    assert "0 broken" in out.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("qa/chunking.py", "import qa.web.render", "The core never imports a front end"),
    ("qa/config.py", "import qa.reader", "Settings are a leaf"),
    ("qa/web/app.py", "import qa.stores", "The web front end asks the engine"),
    ("qa/answers.py", "import qa.offline.squad", "Answering never imports the offline tools"),
    ("qa/stores/base.py", "import qa.retrieval", "Stages in order"),
])
def test_an_upward_import_breaks_a_contract(tmp_path, module, line, contract):
    """A copy of the package with one import against the layers fails the check, naming the contract."""
    shutil.copytree(ROOT / "qa", tmp_path / "qa", ignore=shutil.ignore_patterns("models", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # an upward import\n", encoding="utf-8")
    out = _lint(tmp_path)
    assert out.returncode != 0, out.stdout[-2000:]
    broken = out.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
