"""Every script in benchmarks/ and tools/ still starts: `--help` runs its imports and argument
parsing (the rot this catches: a benchmark importing a function that was renamed or moved).

The measurements themselves take minutes to hours and are not run here; each script's
docstring says how to run it, and benchmarks/README.md what it reports.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Modules the scripts import, not scripts themselves.
MODULES = {"benchmarks/conversation/old_followup.py"}
SCRIPTS = sorted(name for folder in ("benchmarks", "tools") for p in (ROOT / folder).rglob("*.py")
                 if "work" not in p.relative_to(ROOT).parts and not p.name.startswith("_")
                 and (name := p.relative_to(ROOT).as_posix()) not in MODULES)


def test_the_scripts_are_found():
    assert "benchmarks/run.py" in SCRIPTS and "tools/mutate.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_starts(script, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / script), "--help"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage:" in out.stdout.lower(), f"{script} --help printed no usage (does it parse its arguments?)"


def test_the_gpu_training_script_parses():
    out = subprocess.run(["bash", "-n", str(ROOT / "tools" / "train_gpu.sh")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_every_mutation_still_applies():
    """Each mutation of tools/mutate.py names text that occurs once in its file: an edit that moves the
    target would otherwise leave the mutation silently unapplied (it happened twice)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import mutate
    finally:
        sys.path.remove(str(ROOT / "tools"))
    stale = [m.name for m in mutate.MUTATIONS if (ROOT / m.file).read_text(encoding="utf-8").count(m.old) != 1]
    assert len(mutate.MUTATIONS) > 100 and stale == []
