"""PDF and Word files read in a child process: a time budget per file and a memory cap.

PDFium and python-docx run on files anyone may drop in the folder or upload. A file that
makes a parser loop, eat memory or crash must cost one skipped file with a message, never a
stalled index build or chat. A thread cannot be stopped, so the parsers run in a child process
(``python -m qa.formats.isolated``) that reads one file at a time: past the time budget it is
killed and the file is skipped; the next file starts a fresh child. The child is kept between
files (starting one costs ~0.4 s) and exits when its parent does (its input closes).

The protocol is a JSON line each way: ``{"kind", "path", "max_pages"}`` in, ``{"fields": {...}}``
or ``{"error": "..."}`` out.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from qa.formats import ArticleError, Fields

KINDS = {".pdf": "pdf", ".docx": "docx"}
DEFAULT_SECONDS = 60
# The child's address space: PDFium and lxml need a few hundred MB for large files; a file that
# needs more is refused (MemoryError in the child) rather than taking the machine's memory.
MEMORY_BYTES = 3 * 1024**3
START_SECONDS = 60  # a busy machine may take seconds to start a Python process


def parse(kind: str, data: bytes, max_pages: int = 0) -> Fields:
    """Parse a document's bytes in this process (what the child runs)."""
    if kind == "pdf":
        from qa.formats.pdf import parse_pdf

        return parse_pdf(data, max_pages)
    if kind == "docx":
        from qa.formats.word import parse_docx

        return parse_docx(data)
    raise ArticleError(f"unknown document kind {kind!r}")


class DocumentReader:
    """Reads PDF and Word files in a child process, one at a time (thread-safe).

    Args:
        memory_bytes: The child's address-space limit (POSIX; ignored elsewhere).
    """

    def __init__(self, memory_bytes: int = MEMORY_BYTES):
        self.memory_bytes = memory_bytes
        self._proc: subprocess.Popen | None = None
        self._answers: queue.Queue = queue.Queue()
        self._lock = threading.Lock()

    def read(self, path: str | Path, seconds: float = DEFAULT_SECONDS, max_pages: int = 0) -> Fields:
        """The fields of one document.

        Args:
            path: A .pdf or .docx file.
            seconds: The time budget: a file not read by then is skipped (the child is killed).
            max_pages: Refuse a PDF of more pages (0: any).

        Returns:
            What the format read.

        Raises:
            ArticleError: The file cannot be read (the message says why: damaged, encrypted,
                too slow, too large, the reader crashed).
        """
        kind = KINDS.get(Path(path).suffix.lower())
        if kind is None:
            raise ArticleError(f"not a PDF or Word (.docx) file: {Path(path).name}")
        request = json.dumps({"kind": kind, "path": str(Path(path).resolve()), "max_pages": max_pages})
        with self._lock:
            proc = self._start()
            try:
                proc.stdin.write(request + "\n")
                proc.stdin.flush()
                line = self._answers.get(timeout=seconds)
            except queue.Empty:
                self._stop()
                raise ArticleError(f"not read within {seconds:g} s (the time limit for one PDF or Word file, "
                                   "Config.max_document_seconds): skipped") from None
            except OSError:
                line = None
            if line is None:  # the child died: a crash, or over its memory
                code = self._stop()
                raise ArticleError(f"the {kind.upper()} reader stopped on it (exit code {code}; a damaged file, "
                                   f"or one that needs more than {self.memory_bytes / 1024**3:g} GB): skipped")
        answer = json.loads(line)
        if "error" in answer:
            raise ArticleError(answer["error"])
        return Fields(**answer["fields"])

    def _start(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        env = dict(os.environ, QA_DOCUMENT_MEMORY=str(self.memory_bytes))
        root = str(Path(__file__).resolve().parents[2])  # the qa package's parent, importable in the child
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "qa.formats.isolated"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", env=env, bufsize=1,
        )
        self._answers = queue.Queue()
        threading.Thread(target=_pump, args=(self._proc, self._answers), daemon=True, name="qa-documents").start()
        try:  # its imports are not the first file's time
            ready = self._answers.get(timeout=START_SECONDS)
        except queue.Empty:
            ready = None
        if ready is None:
            self._stop()
            raise ArticleError("the PDF and Word reader did not start (is pypdfium2 installed?): skipped")
        return self._proc

    def _stop(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        """Stop the child (a later read starts another)."""
        with self._lock:
            self._stop()


def _pump(proc: subprocess.Popen, answers: queue.Queue) -> None:
    """Hand each line the child writes to the reader; None when it is gone."""
    for line in proc.stdout:
        answers.put(line)
    answers.put(None)


_SHARED: DocumentReader | None = None
_SHARED_LOCK = threading.Lock()


def shared_reader() -> DocumentReader:
    """The process's one document reader (its child is started on first use, stopped at exit)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = DocumentReader()
            atexit.register(_SHARED.close)
        return _SHARED


def _serve() -> None:
    """The child: read requests from stdin, answer on stdout, until stdin closes."""
    limit = int(os.environ.get("QA_DOCUMENT_MEMORY", MEMORY_BYTES))
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not POSIX, or a lower hard limit: run without
        pass
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing a library prints may break the protocol
    import pypdfium2  # noqa: F401  (loaded before the first file's clock starts)

    import qa.formats.pdf  # noqa: F401
    import qa.formats.word  # noqa: F401

    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            data = Path(request["path"]).read_bytes()
            answer = {"fields": asdict(parse(request["kind"], data, int(request.get("max_pages") or 0)))}
        except ArticleError as e:
            answer = {"error": str(e)}
        except MemoryError:
            answer = {"error": "needs more memory than the limit for one file: skipped"}
        except OSError as e:
            answer = {"error": (e.strerror or str(e)).lower()}
        except Exception as e:  # a parser's own failure on a malformed file
            answer = {"error": f"could not be read ({type(e).__name__}: {str(e)[:120]})"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    _serve()
