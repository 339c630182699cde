"""CLI habits: --version, -h, one warning per problem, --port in the port-in-use message, a clean Ctrl-C."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request

import pytest

from conftest import ROOT, free_port
from test_cli import qa


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("habits")
    arts = tmp / "arts"
    arts.mkdir()
    (arts / "apples.txt").write_text("Apples\n\nThe orchard of Lleida grows red apples. Its keeper is Marta Puig.\n")
    (arts / "bad.txt").write_bytes(b"\x00\x01binary")
    r = qa("index", "--articles", str(arts), "--index", str(tmp / "ix"))
    assert r.returncode == 0, r.stderr
    return tmp, r


def test_version_matches_the_package():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    r = qa("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"qa {version}"


@pytest.mark.parametrize("args", [[], ["eval", "reader"]])
def test_short_help_is_the_same_as_long_help(args):
    short, long = qa(*args, "-h"), qa(*args, "--help")
    assert short.returncode == 0 and "Usage" in short.stdout
    assert short.stdout == long.stdout


def test_a_skipped_file_is_warned_about_once(built):
    _, r = built
    assert r.stderr.count("bad.txt") == 1, r.stderr


def test_a_damaged_index_is_reported_once_when_rebuilt(built):
    tmp, _ = built
    shutil.copytree(tmp / "ix", tmp / "damaged")
    for db in (tmp / "damaged").glob("gen-*/meta.sqlite"):
        db.write_text("not a database")
    r = qa("index", "--articles", str(tmp / "arts"), "--index", str(tmp / "damaged"))
    assert r.returncode == 0, r.stderr
    assert "Rebuilt everything: the old index was unreadable" in r.stderr
    assert "rebuilding:" not in r.stderr and "damaged" not in r.stderr, r.stderr


def test_port_in_use_names_the_port_option(built):
    tmp, _ = built
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = qa("serve", "--no-index", "--index", str(tmp / "ix"), "--port", str(port))
    assert r.returncode != 0 and f"port {port}" in r.stderr and "--port" in r.stderr
    assert "GRADIO_SERVER_PORT" not in r.stderr and "Traceback" not in r.stderr


def test_ctrl_c_shuts_down_cleanly_after_answering(built):
    """A real `qa serve`, one question, then SIGINT to its process group (what Ctrl-C in a terminal does)."""
    from gradio_client import Client

    tmp, _ = built
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--articles", str(tmp / "arts"), "--index", str(tmp / "ix"), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        # a shell's background job ignores SIGINT, and children inherit that: restore the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict("Who is the keeper of the orchard?", api_name="/ask")
        assert "Marta Puig" in answer["answer"]
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert "leaked" not in out and "Traceback" not in out, out
    assert out.count("bad.txt") <= 1, out  # the stale check and the index run read the folder: still one warning
