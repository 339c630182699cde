"""The ``http://`` path: qa against a real Milvus server, end to end through the CLI.

The server is Milvus Lite's own gRPC server on a TCP port (Lite 2.5: its C++ Milvus binary;
Lite 3: ``python -m milvus_lite server``), which speaks the protocol a Milvus cluster speaks, so ``--store http://host:port`` is exercised the way a
newsroom would use it: build with ``qa index``, answer with ``qa ask``, from separate
processes, with the index living only in the server.
"""

import contextlib
import json
import socket
import subprocess
import sys
import time

import pytest

from conftest import SEEDS, free_port, needs_reader
from test_cli import qa

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'qa[milvus]'): Milvus server path not tested")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed: no Milvus server to test against")


# Milvus Lite 2.5 starts its binary on an address from Python (it has no server command).
LITE25_SERVER = """
import signal, sys, time
from milvus_lite.server import Server
server = Server(sys.argv[1], address=sys.argv[2])
if not (server.init() and server.start()):
    sys.exit("the Milvus Lite server did not start")
signal.signal(signal.SIGTERM, lambda *_: (server.stop(), sys.exit(0)))
while True:
    time.sleep(1)
"""


def server_command(data, port: int) -> list[str]:
    try:
        from milvus_lite.server import Server  # noqa: F401  (Lite 2.5)
    except ImportError:
        return [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-c", LITE25_SERVER, str(data / "server.db"), f"127.0.0.1:{port}"]


@contextlib.contextmanager
def running_server(data):
    """A Milvus gRPC server (Milvus Lite's) on a free port, its files in ``data``; yields its http://
    address, or skips the test when it does not start within two minutes."""
    port = free_port()
    with open(data / "server.log", "w") as log:
        proc = subprocess.Popen(server_command(data, port), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            if proc.poll() is not None or time.monotonic() >= deadline:
                proc.kill()
                pytest.skip(f"the Milvus Lite server did not start: {(data / 'server.log').read_text()[-500:]}")
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(30)


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """A Milvus gRPC server on a free port; yields its http:// address."""
    with running_server(tmp_path_factory.mktemp("milvus-server")) as url:
        yield url


@needs_reader
def test_index_and_ask_through_a_milvus_server(milvus_server, tmp_path):
    r = qa("index", "--articles", str(SEEDS), "--store", milvus_server)
    assert r.returncode == 0, r.stderr
    # Nothing is written locally: the index lives in the server.
    r = qa("ask", "Who is the NATO Secretary-General?", "--json", env={"QA_STORE": milvus_server, "QA_INDEX": str(tmp_path / "unused")})
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert "Rasmussen" in answer["answer"] and answer["citations"][0]["date"] == "2011-07-04"
    assert not (tmp_path / "unused").exists()
    # An incremental run on the same server finds nothing to do.
    r = qa("index", "--articles", str(SEEDS), "--store", milvus_server)
    assert r.returncode == 0 and "0 added, 0 changed, 0 removed" in r.stdout, r.stdout + r.stderr


def test_an_unreachable_server_is_a_clear_message():
    r = qa("ask", "anything", "--store", f"http://127.0.0.1:{free_port()}")
    assert r.returncode != 0 and "Cannot reach Milvus at http://127.0.0.1" in r.stderr, r.stderr
