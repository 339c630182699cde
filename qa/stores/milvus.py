"""Milvus as the index store: Milvus Lite (a file, embedded) or a Milvus server/cluster, one client.

Location strings (``--store``, ``QA_STORE``)::

    milvus:///abs/path/index.db      Milvus Lite, a local file (one process at a time may open it)
    milvus://relative/path/index.db  the same, relative to the working directory
    http://host:19530                a Milvus server or cluster (``https://`` too); token from $MILVUS_TOKEN

An optional ``#name`` suffix picks the collection prefix (default ``qa``), so several indexes can
share one server.

Layout: everything lives in Milvus (no local SQLite), in two collections per build:

    <prefix>_passages_<gen>   id (passage id), article_id, number, start, end, text (analyzed),
                              content_hash, dense (FLOAT_VECTOR, IP), sparse (BM25 function output)
    <prefix>_articles_<gen>   one row per 16k-character part of an article: title, date, source,
                              url, author, hash, text part; plus one settings row (model, dimension,
                              chunking, version)

and a one-row collection ``<prefix>_current`` that names the published build. A full build
(``create``) writes new collections and :meth:`MilvusStore.publish` rewrites that row, so a reader
never sees a half-written rebuild; readers switch on their next :meth:`~MilvusStore.refresh` (the
engine refreshes before each question). The build replaced is dropped at the publish after, so a
reader in another process that has not refreshed yet still has it. (Aliases would do this inside
Milvus, but Milvus Lite 2.5, whose C++ engine searches ~10x faster than Milvus Lite 3's, has none.)

Keyword search is Milvus's own BM25 (a ``BM25`` function over the analyzed text into a sparse
vector with a ``SPARSE_INVERTED_INDEX``), with the analyzer and k1/b set like qa's local BM25
(lower-cased words, accents folded, English stopwords, no stemming, k1=1.2, b=0.75). :meth:`hybrid_search` fuses
dense and BM25 server-side with ``RRFRanker``.

Incremental writes on a live collection are per row in Milvus (no multi-row transactions): an
article's new passages are upserted by their stable ids first, then its surplus old passages
deleted, so a reader may for an instant see an article half old, half new, but never missing.

An articles collection made before bylines were stored has no ``author`` field (a collection's
fields are fixed: Milvus Lite 2.5 cannot add one). Readers read '' for it; the first write copies
it into a new articles collection that has the field (metadata and article text only: no vector
is copied or embedded) and points ``<prefix>_current`` at it, then writes as usual. The old one is
dropped at once when no other store can be reading it (a Milvus Lite file that no other store of
this process has open: Lite admits one process), else at the next publish, as a replaced build is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import urllib.parse
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from qa.articles import Article
from qa.chunking import Passage
from qa.locations import parse_location
from qa.stores.base import (
    ArticlePage,
    ArticleRecord,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    IndexStoreError,
    PassageRecord,
    StoredPassage,
    StoreSettings,
    StoreStats,
    page_articles,
)

FORMAT_VERSION = 2  # 2: the published build named in <prefix>_current (1: aliases); primary keys escaped (see _key)
POINTER_ID = "current"
SETTINGS_ID = "\x00settings"  # the settings row of the articles collection (no article id starts with NUL)
PART_CHARS = 16_000  # article text per row: <= 64 KB in UTF-8, under VARCHAR's 65,535-byte limit
MAX_TEXT_BYTES = 65_535
PAGE = 1_000  # rows per query / write request
BM25_PARAMS = {"bm25_k1": 1.2, "bm25_b": 0.75}  # SQLite FTS5's, as the local store uses
BUILD_HEARTBEAT_S = 10  # a build being written renews its registration this often...
BUILD_STALE_S = 120  # ...and one not renewed for this long (its writer was killed) may be dropped
LEASE_S = 60  # a writer's lease on a Milvus server lasts this long unless renewed (every LEASE_S / 4)
_ARTICLE_FIELDS = ("pk", "article_id", "part", "parts", "title", "date", "source", "url", "hash", "author", "text", "v")


def analyzer() -> dict:
    """Words as the local store's keyword search sees them: lower-cased, accents folded, qa's
    English stopwords (bm25s's list) dropped, no stemming."""
    from bm25s.stopwords import STOPWORDS_EN

    return {"tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", {"type": "stop", "stop_words": sorted(STOPWORDS_EN)}]}


_LITE_USERS: dict[str, int] = {}  # Milvus Lite file -> stores open on it in this process
_LITE_LOCK = threading.Lock()


def _client(uri: str):
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise IndexStoreError("The Milvus store needs pymilvus (and milvus-lite for a file): pip install 'qa[milvus]'") from None
    try:
        if uri.startswith(("http://", "https://")):
            return MilvusClient(uri=uri, token=os.environ.get("MILVUS_TOKEN", ""), grpc_options=SERVER_GRPC_OPTIONS)
        os.makedirs(os.path.dirname(uri) or ".", exist_ok=True)
        with warnings.catch_warnings():  # Milvus Lite 2.5 imports pkg_resources, which warns on import
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            if _open_elsewhere(uri):
                raise IndexStoreError(f"The Milvus Lite file {uri} is open in another process (a qa serve or qa index?); "
                                      "Milvus Lite allows one process per file: stop that one, or use a Milvus server")
            client = _open_lite(MilvusClient, uri)
    except IndexStoreError:
        raise
    except Exception as e:  # pymilvus raises its own MilvusException, or OSError / ConnectionError
        hint = " (Milvus Lite opens a file in one process at a time: is another qa using it?)" if not uri.startswith("http") else ""
        raise IndexStoreError(f"Cannot reach Milvus at {uri}{hint}: {e}") from None
    with _LITE_LOCK:
        _LITE_USERS[uri] = _LITE_USERS.get(uri, 0) + 1
    return client


LITE_CONNECT_S = 30  # pymilvus waits 10 s for Lite's gRPC socket: too short on a busy 2-core machine
LITE_TRIES = 3
# pymilvus pings its server every 10 s, also between calls; Lite's embedded gRPC server keeps gRPC's
# default policy (a ping at most every 5 minutes without calls) and drops a client that pings more
# ("GOAWAY too_many_pings"), after which every call on the connection fails. A Unix socket to a
# process on this machine needs no keepalive.
LITE_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 2**31 - 1, "grpc.keepalive_permit_without_calls": False}
# A server is pinged while a call is open only: a server with gRPC's default policy (Milvus Lite's,
# served over TCP) drops a client that pings between calls, and a dead connection still shows on the next call.
SERVER_GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": False}


def _open_lite(client_class, uri: str):
    """A client on a Milvus Lite file, its embedded server started afresh when it does not answer.

    Lite's server can take over 10 s to answer after another process (or this one) has just stopped
    its server on the same file; pymilvus then gives up, and the half-started server would be reused
    by the next attempt. So each failed attempt stops that server before the next one.
    """
    for attempt in range(LITE_TRIES):
        try:
            return client_class(uri, timeout=LITE_CONNECT_S, grpc_options=LITE_GRPC_OPTIONS)
        except Exception:
            with _LITE_LOCK:
                shared = _LITE_USERS.get(uri, 0) > 0  # other stores here use that server: leave it be
            if attempt == LITE_TRIES - 1 or shared or _open_elsewhere(uri):
                raise
            try:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(uri)
            except ImportError:
                pass
            time.sleep(1 + attempt)


def _open_elsewhere(uri: str) -> bool:
    """True when another process has this Milvus Lite file open (Lite 2.5's lock is held).

    Lite 2.5 checks that too, but its failed attempt then deletes the lock file the other process
    holds, so that the next attempt would open the file twice. qa looks first, without starting
    anything. Only while this process has no store on the file: closing a file a process has
    locked drops that process's POSIX locks.
    """
    with _LITE_LOCK:
        if _LITE_USERS.get(uri, 0):
            return False
    try:
        import fcntl

        from milvus_lite.server import Server  # noqa: F401  (Lite 2.5; Lite 3 keeps its files otherwise)
    except ImportError:
        return False
    path = Path(uri).resolve()
    lock = path.parent / f".{path.name}.lock"  # where Lite 2.5's server takes its lock
    if not lock.exists():
        return False
    with open(lock, "a") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(f, fcntl.LOCK_UN)
    return False


def _close_client(client, uri: str) -> None:
    """Close a client; the last one on a Milvus Lite file also stops its in-process server, which
    holds the file's lock (so that another process, e.g. the chat's engine, can open it)."""
    client.close()
    if uri.startswith(("http://", "https://")):
        return
    with _LITE_LOCK:
        _LITE_USERS[uri] = _LITE_USERS.get(uri, 1) - 1
        last = _LITE_USERS[uri] <= 0
        if last:
            _LITE_USERS.pop(uri, None)
    if last:
        try:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(uri)
        except ImportError:
            pass


@contextlib.contextmanager
def _quiet_pymilvus():
    """pymilvus logs a traceback for calls Milvus Lite lacks and qa copes without: the timestamp
    a query iterator tries first (it falls back to a client-side one), aliases (Lite 2.5)."""
    log = logging.getLogger("pymilvus")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


# Milvus Lite 2.5 deletes (and upserts) by pasting primary keys into SQL: a key with a quote fails
# there and an upsert then leaves duplicates; pymilvus pastes keys into a filter ('pk in [...]') for a
# get, where a backslash breaks it, and a query iterator pages on 'pk > "<last key>"', where a double
# quote hangs Milvus Lite. Keys are stored with ', ", %, backslash and control characters
# percent-encoded; ids are decoded on the way out.
_KEY_TABLE = str.maketrans({c: f"%{ord(c):02X}" for c in "%'\"\\" + "".join(map(chr, range(32)))})


def _key(value: str) -> str:
    """The primary key a passage or article id is stored under."""
    return value.translate(_KEY_TABLE)


def _part_key(article_id: str, part: int) -> str:
    """The primary key of one part of an article's text."""
    return _key(f"{article_id}\x1f{part:05d}")


def _unkey(key: str) -> str:
    return urllib.parse.unquote(key)


def _quote(value: str) -> str:
    """A string literal for a Milvus filter expression: the raw characters (non-ASCII as they are:
    Milvus matches the UTF-8 string, not ``\\u00e9`` escapes), with only what its grammar needs
    escaped: the backslash and the double quote. (A line break has no escape Milvus reads back:
    see :func:`_expressible`.)"""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _expressible(value: str) -> bool:
    """True when a string literal of Milvus's expression grammar can hold the value (no line break)."""
    return "\n" not in value and "\r" not in value


def _article_filter(article_id: str) -> str:
    """A filter expression matching (at least) an article's rows; callers keep exact matches only.

    An id with a line break has no literal in Milvus's grammar: then its rows are found with ``like``
    on the part before any character that could be special there, a wider match.
    """
    if _expressible(article_id):
        return f"article_id == {_quote(article_id)}"
    head = re.split(r"[\r\n\\%_\"]", article_id, maxsplit=1)[0]
    return f'article_id like "{head}%"'


def _crash_point(name: str) -> None:
    """Fault injection for the crash tests: ``QA_CRASH_AT=<name>`` kills this process here, as ``kill -9`` would."""
    if os.environ.get("QA_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _owner() -> str:
    """Who a build or lease belongs to: host and process (a dead process on this host holds nothing)."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    """False when the owner is a process of this host that no longer runs; True otherwise (another host: unknown)."""
    import socket

    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class MilvusStore:
    """An index in Milvus (see the module docstring). Use :meth:`open` or :meth:`create`.

    Args:
        client: A connected ``MilvusClient``.
        location: The location string it was opened from.
        prefix: Collection prefix.
        passages: The collection the passages are read and written in.
        articles: Same for the articles.
        settings: What the index was built with.
        published: False for a store made by :meth:`create` until :meth:`publish`.
    """

    def __init__(self, client, location: str, prefix: str, passages: str, articles: str, settings: StoreSettings,
                 version: int, published: bool):
        self._client = client
        self.location = location
        self.prefix = prefix
        self._passages = passages
        self._articles = articles
        self._settings = settings
        self._version = version
        self._published = published
        self._lock = threading.Lock()  # one request at a time per client (the chat calls from threads)
        self._has_author = True  # the articles collection has an author field (see _check_author)
        self._pending = None  # articles a killed write left half written (see tidy)
        self._heartbeat: threading.Event | None = None  # stops the renewal of an unpublished build's registration

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, location: str, embedding_model: str | None = None) -> "MilvusStore":
        """Open the live index at a Milvus location.

        Raises:
            IndexMissing: No index there.
            IndexMismatch: Built with another format or embedding model.
            IndexStoreError: Milvus cannot be reached.
        """
        uri, prefix = parse_location(location)
        client = _client(uri)
        try:
            names = _read_pointer(client, prefix)
            legacy = names is None and client.has_collection(f"{prefix}_passages")  # format 1 kept its pointer in aliases
        except Exception as e:
            _close_client(client, uri)
            raise IndexCorrupt(f"The index in {location} cannot be read ({e}). Rebuild it with: qa index --rebuild --store {location}") from None
        if names is None:
            _close_client(client, uri)
            if legacy:
                raise IndexMismatch(f"The index in {location} was built by an older qa (format 1). Rebuild it with: qa index --rebuild --store {location}")
            raise IndexMissing(f"No index in {location}. Build it with: qa index --store {location}")
        store = cls(client, location, prefix, names[0], names[1], StoreSettings("", 0, {}), 0, True)
        try:  # queries of any kind need loaded collections (a restarted Milvus Lite has them released)
            client.load_collection(names[0])
            client.load_collection(names[1])
        except Exception as e:
            _close_client(client, uri)
            raise IndexCorrupt(f"The index in {location} cannot be loaded ({e}). Rebuild it with: qa index --rebuild --store {location}") from None
        store._check_author()
        data = store._read_settings()
        fix = f"Rebuild it with: qa index --rebuild --store {location}"
        if data is None:
            _close_client(client, uri)
            raise IndexMissing(f"The index in {location} has no settings row (an unfinished build?). {fix}")
        if data.get("format_version") != FORMAT_VERSION:
            _close_client(client, uri)
            raise IndexMismatch(f"The index in {location} has format {data.get('format_version')}; this version of qa reads {FORMAT_VERSION}. {fix}")
        store._settings = StoreSettings(**data["settings"])
        store._version = int(data.get("version", 0))
        store._seen = f"{names[0]}/{data.get('version')}"
        store._pending = data.get("pending")  # a write was killed: the next write repairs it first (tidy)
        if embedding_model is not None and store._settings.embedding_model != embedding_model:
            _close_client(client, uri)
            raise IndexMismatch(
                f"The index in {location} was built with embedding model {store._settings.embedding_model!r}, "
                f"but {embedding_model!r} is configured. {fix}, or set the embedding model back."
            )
        return store

    @classmethod
    def create(cls, location: str, settings: StoreSettings) -> "MilvusStore":
        """New, empty collections; readers keep the live ones until :meth:`publish`.

        The build is registered in ``<prefix>_current`` (a row renewed every few seconds while it is
        being written) before its collections exist, so that a publish by another process does not
        drop it (see :meth:`publish`).
        """
        uri, prefix = parse_location(location)
        client = _client(uri)
        gen = f"{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:6]}"
        passages, articles = f"{prefix}_passages_{gen}", f"{prefix}_articles_{gen}"
        store = cls(client, location, prefix, passages, articles, settings, 0, False)
        try:
            _create_pointer(client, prefix)
            client.load_collection(_pointer_name(prefix))
            store._register_build()
            _create_articles(client, articles)
            _create_passages(client, passages, settings)
            store._write_settings()
        except BaseException:
            store.discard()
            store.close()
            raise
        store._heartbeat = threading.Event()
        threading.Thread(target=store._beat, args=(store._heartbeat,), daemon=True, name="qa-milvus-build").start()
        return store

    # A build being written is registered in the pointer collection: pk "build:<gen>", its passages
    # collection, and {"articles", "owner", "heartbeat"} as JSON in the articles field.

    def _build_pk(self) -> str:
        return "build:" + self._passages[len(f"{self.prefix}_passages_"):]

    def _register_build(self) -> None:
        info = json.dumps({"articles": self._articles, "owner": _owner(), "heartbeat": time.time()})
        self._client.upsert(_pointer_name(self.prefix), [{"pk": self._build_pk(), "passages": self._passages, "articles": info, "v": [0.0, 0.0]}])

    def _beat(self, stop: threading.Event) -> None:
        """Renew this build's registration until it is published, discarded or closed."""
        while not stop.wait(BUILD_HEARTBEAT_S):
            with contextlib.suppress(Exception), self._lock:
                if self._client is None or stop.is_set():
                    return
                self._register_build()

    def _stop_beat(self) -> None:
        beat = getattr(self, "_heartbeat", None)
        if beat is not None:
            beat.set()

    def _builds_in_progress(self) -> set[str]:
        """Collections of builds that another store is writing now (registered, renewed recently, owner alive).
        Registrations of builds that stopped (killed) are removed."""
        name = _pointer_name(self.prefix)
        rows = self._client.query(name, filter='pk like "build:%"', output_fields=["pk", "passages", "articles"])
        busy = set()
        for r in rows:
            try:
                info = json.loads(r["articles"])
                fresh = time.time() - float(info["heartbeat"]) < BUILD_STALE_S and _owner_alive(str(info["owner"]))
            except (ValueError, KeyError, TypeError):
                fresh = False
            if fresh and r["pk"] != self._build_pk():
                busy |= {r["passages"], info["articles"]}
            elif not fresh:
                self._client.delete(name, ids=[r["pk"]])
        return busy

    def publish(self) -> None:
        """Point readers at this build (one single-row write), then drop older builds.

        The build it replaces is kept until the next publish, so that a reader in another process
        that has not refreshed yet keeps answering from it; older builds go, and so do builds that
        were never published and are no longer being written (a killed build). A build another
        store is still writing is kept.
        """
        if self._published:
            return
        _crash_point("milvus-before-publish")
        with self._lock:
            live = _read_pointer(self._client, self.prefix)
            _create_pointer(self._client, self.prefix)
            self._client.upsert(_pointer_name(self.prefix), [{"pk": POINTER_ID, "passages": self._passages,
                                                            "articles": self._articles, "v": [0.0, 0.0]}])
            self._stop_beat()
            self._client.delete(_pointer_name(self.prefix), ids=[self._build_pk()])
            _drop_format1_aliases(self._client, self.prefix)
            keep = {self._passages, self._articles, *(live or ()), *self._builds_in_progress()}
            for name in self._client.list_collections():
                if name.startswith((f"{self.prefix}_passages_", f"{self.prefix}_articles_")) and name not in keep:
                    self._client.drop_collection(name)
        self._published = True

    def discard(self) -> None:
        """Drop the collections of an unpublished build."""
        if self._published:
            return
        self._stop_beat()
        with self._lock:
            if self._client is None:
                return
            for name in (self._passages, self._articles):
                if self._client.has_collection(name):
                    self._client.drop_collection(name)
            with contextlib.suppress(Exception):
                self._client.delete(_pointer_name(self.prefix), ids=[self._build_pk()])

    def close(self) -> None:
        self._stop_beat()
        with self._lock:
            if self._client is not None:
                _close_client(self._client, parse_location(self.location)[0])
                self._client = None

    # ------------------------------------------------------------------ settings, version

    @property
    def settings(self) -> StoreSettings:
        return self._settings

    def _read_settings(self, articles: str | None = None) -> dict | None:
        with self._lock:
            rows = self._client.get(articles or self._articles, ids=[_key(SETTINGS_ID)], output_fields=["text"])
        return json.loads(rows[0]["text"]) if rows else None

    def _write_settings(self, pending: list[str] | str | None = None) -> None:
        """The settings row: format, settings, version, and while a write is under way the articles it
        touches (``pending``; "all" when too many to list), so that a killed write is repaired (:meth:`tidy`)."""
        data = {"format_version": FORMAT_VERSION, "settings": asdict(self._settings), "version": self._version}
        if pending:
            data["pending"] = pending
            if len(json.dumps(data).encode("utf-8")) > MAX_TEXT_BYTES - 1_000:
                data["pending"] = "all"
        row = _article_row(_key(SETTINGS_ID), "", 0, Article("", "", ""), json.dumps(data), author=self._has_author)
        with self._lock:
            self._client.upsert(self._articles, [row])

    def refresh(self) -> bool:
        """True when another writer (or a rebuild published since) changed the index since last looked;
        a published store then reads the new build, with the new build's settings.

        Raises:
            IndexMismatch: The build published since was made with another embedding model or dimension
                (this store keeps reading the build it had, as long as it exists).
        """
        if self._published:
            with self._lock:
                names = _read_pointer(self._client, self.prefix, loaded=True)
            if names and names != (self._passages, self._articles):
                data = self._read_settings(names[1])
                if data is None or data.get("format_version") != FORMAT_VERSION:
                    raise IndexMismatch(f"The index in {self.location} was replaced by a build this qa cannot read "
                                        f"(format {(data or {}).get('format_version')}). Rebuild it with: qa index --rebuild --store {self.location}")
                new = StoreSettings(**data["settings"])
                old = self._settings
                if (new.embedding_model, new.dimension) != (old.embedding_model, old.dimension):
                    raise IndexMismatch(
                        f"The index in {self.location} was rebuilt with embedding model {new.embedding_model!r} "
                        f"({new.dimension} dimensions), but this process embeds questions with {old.embedding_model!r} "
                        f"({old.dimension}). Restart it with QA_EMBEDDING_MODEL={new.embedding_model}, or rebuild the index "
                        f"with {old.embedding_model!r}.")
                with self._lock:
                    self._client.load_collection(names[0])
                    self._client.load_collection(names[1])
                self._passages, self._articles = names
                self._check_author()
        data = self._read_settings()
        version = f"{data.get('version')}" if data else ""
        key = f"{self._passages}/{version}"
        changed = key != getattr(self, "_seen", key)
        self._seen = key
        if data:
            self._version = int(data.get("version", 0))
            self._settings = StoreSettings(**data["settings"])
        return changed

    def _check_author(self) -> None:
        """Whether the articles collection has the author field (one made before bylines were stored has not)."""
        with self._lock:
            fields = self._client.describe_collection(self._articles)["fields"]
        self._has_author = any(f["name"] == "author" for f in fields)

    def _author_fields(self) -> list[str]:
        return ["author"] if self._has_author else []

    def _add_author(self) -> None:
        """Copy an articles collection made before bylines were stored into one with the author field,
        and make it the live one (see the module docstring). Costs the articles' metadata and text."""
        old = self._articles
        new = f"{self.prefix}_articles_{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:6]}"
        _create_articles(self._client, new)
        fields = ["pk", "article_id", "part", "parts", "title", "date", "source", "url", "hash", "text"]
        with self._lock, _quiet_pymilvus():
            it = self._client.query_iterator(old, batch_size=PAGE, filter="part >= 0", output_fields=fields)
        with self._lock:
            try:
                while batch := it.next():
                    self._client.insert(new, [{**{f: r[f] for f in fields}, "author": "", "v": [0.0, 0.0]} for r in batch])
            finally:
                it.close()
            self._client.load_collection(new)
            if self._published:
                self._client.upsert(_pointer_name(self.prefix), [{"pk": POINTER_ID, "passages": self._passages,
                                                                "articles": new, "v": [0.0, 0.0]}])
            if not self._published or self._sole_user():
                self._client.drop_collection(old)
        self._articles, self._has_author = new, True

    def _sole_user(self) -> bool:
        """True on a Milvus Lite file that no other store has open (Lite admits one process; in this one, none other)."""
        uri = parse_location(self.location)[0]
        with _LITE_LOCK:
            return not uri.startswith(("http://", "https://")) and _LITE_USERS.get(uri, 0) <= 1

    def warm_up(self) -> None:
        with self._lock:
            self._client.load_collection(self._passages)
            self._client.load_collection(self._articles)
        self.refresh()

    # ------------------------------------------------------------------ writing

    def write(self, upsert: Sequence[ArticleRecord] = (), delete: Sequence[str] = ()) -> None:
        """Upsert articles (their passages replaced) and delete articles by id.

        An id both upserted and deleted keeps its new version (as the local store does). Milvus has no
        multi-row transactions, so a write is made recoverable instead: the articles it touches are
        listed in the settings row first, each article's hash is written after its passages are
        complete (a write killed before that leaves the old hash, so the next update redoes it), and
        the list is cleared last; :meth:`tidy` repairs what a killed write left.

        Raises:
            ValueError: A vector of the wrong dimension or not finite, or a text too long for Milvus (nothing written).
            IndexStoreError: Milvus refused the write.
        """
        dim = self._settings.dimension
        ids = [rec.article.id for rec in upsert]
        if len(set(ids)) != len(ids):
            raise ValueError("article ids must be unique")
        delete = [d for d in dict.fromkeys(delete) if d not in set(ids)]
        passage_rows, head_rows, tail_rows, keep, n_parts = [], [], [], {}, {}
        for rec in upsert:
            a = rec.article
            parts = [a.text[i : i + PART_CHARS] for i in range(0, len(a.text), PART_CHARS)] or [""]
            for n, part in enumerate(parts):
                (tail_rows if n else head_rows).append(_article_row(_part_key(a.id, n), a.id, n, a, part, len(parts), True))
            keep[a.id] = {p.passage.id for p in rec.passages}
            n_parts[a.id] = len(parts)
            for p in rec.passages:
                v = np.asarray(p.vector, dtype=np.float32).reshape(-1)
                if v.shape != (dim,) or not np.isfinite(v).all():
                    raise ValueError(f"passage {p.passage.id}: vector must be {dim} finite numbers")
                if len(p.search_text.encode("utf-8")) > MAX_TEXT_BYTES:
                    raise ValueError(f"passage {p.passage.id}: text longer than Milvus's {MAX_TEXT_BYTES} bytes")
                passage_rows.append(_passage_row(p, v))
        if not upsert and not delete:
            return
        try:
            if getattr(self, "_pending", None):
                self.tidy()  # a write killed before this one
            if upsert and not self._has_author:
                self._add_author()  # a collection made before bylines were stored
            if not self._has_author:
                for row in head_rows + tail_rows:
                    row.pop("author", None)
            # Articles that may have rows to replace: on the live index every one upserted (also rows
            # stored under an older key form), in a new build those written before.
            existing = set(ids) if self._published else set(self.article_hashes(ids)) if ids else set()
            self._write_settings(pending=ids + delete)  # what a killed write must repair, written first
            _crash_point("milvus-pending-written")
            with self._lock:
                for i in range(0, len(passage_rows), PAGE):
                    self._client.upsert(self._passages, passage_rows[i : i + PAGE])
            _crash_point("milvus-passages-written")
            # Then what the new versions no longer have: surplus passages and text parts.
            for article_id in existing:
                self._delete_rows(article_id, keep=keep[article_id], parts=n_parts[article_id])
            _crash_point("milvus-surplus-deleted")
            with self._lock:
                for rows in (tail_rows, head_rows):  # the first part, which holds the hash, last
                    for i in range(0, len(rows), PAGE):
                        self._client.upsert(self._articles, rows[i : i + PAGE])
            _crash_point("milvus-articles-written")
            for article_id in delete:
                self._delete_rows(article_id)
            _crash_point("milvus-deleted")
            self._version += 1
            self._write_settings()  # the pending list cleared: the write is complete
        except (ValueError, IndexStoreError):
            raise
        except Exception as e:  # pymilvus's MilvusException and connection errors
            raise IndexStoreError(f"Milvus refused the write: {e}") from None

    def _rows(self, collection: str, article_id: str, fields: list[str]) -> list[dict]:
        """An article's rows in a collection (exact id matches)."""
        with self._lock:
            rows = self._client.query(collection, filter=_article_filter(article_id), output_fields=["article_id", *fields])
        return [r for r in rows if r["article_id"] == article_id]

    def _delete_rows(self, article_id: str, keep: set[str] | None = None, parts: int = 0) -> None:
        """Delete an article: its passages first, then its text parts (so a killed delete leaves the
        article listed, and the next update deletes it again). With ``keep``: only its passages not in
        ``keep`` and its parts from ``parts`` on. Rows are found by the article id, deleted by primary key."""
        keys = {_key(i) for i in keep or ()}
        gone = [r["id"] for r in self._rows(self._passages, article_id, ["id"]) if r["id"] not in keys]
        with self._lock:
            for i in range(0, len(gone), PAGE):
                self._client.delete(self._passages, ids=gone[i : i + PAGE])
        _crash_point("milvus-passages-deleted")
        gone = [r["pk"] for r in self._rows(self._articles, article_id, ["pk", "part"])
                if keep is None or r["part"] >= parts or r["pk"] != _part_key(article_id, r["part"])]
        gone.sort(key=lambda pk: pk == _part_key(article_id, 0))  # the first part, with the hash, last
        with self._lock:
            for i in range(0, len(gone), PAGE):
                self._client.delete(self._articles, ids=gone[i : i + PAGE])

    def tidy(self) -> None:
        """Repair what a killed write left (see :meth:`write`); a no-op after a completed one.

        For each article the killed write touched: without its first text part (a new article whose
        rows were not all written, or a delete half done) its remaining rows go; with it, its hash is
        cleared, so that the next update writes it again (its vectors are reused by content hash, not
        embedded). Then the pending list is cleared.
        """
        data = self._read_settings()
        pending = (data or {}).get("pending")
        self._pending = None
        if not pending:
            return
        if pending == "all":
            ids = {r["article_id"] for r in self._scan(self._passages, 'article_id != ""', ["article_id"])}
            ids |= {r["article_id"] for r in self._scan(self._articles, 'article_id != ""', ["article_id"])}
        else:
            ids = set(pending)
        for article_id in sorted(ids):
            with self._lock:
                head = self._client.get(self._articles, ids=[_part_key(article_id, 0)], output_fields=["*"])
            if not head:
                self._delete_rows(article_id)
            elif head[0].get("hash"):
                row = {k: v for k, v in head[0].items() if k in _ARTICLE_FIELDS}
                row.update(hash="", v=[0.0, 0.0])
                with self._lock:
                    self._client.upsert(self._articles, [row])
        self._version += 1
        self._write_settings()

    def set_index_type(self, index_type: str) -> str:
        """Rebuild the dense index: 'flat' (exact; the only one Milvus Lite has) or 'hnsw' (a server)."""
        kind = _dense_index_type(self._client, index_type)
        with self._lock:
            self._client.release_collection(self._passages)
            self._client.drop_index(self._passages, "dense")
            params = self._client.prepare_index_params()
            params.add_index(field_name="dense", **_dense_index_params(kind))
            self._client.create_index(self._passages, params)
            self._client.load_collection(self._passages)
        self._settings.index_type = kind
        self._write_settings()
        return kind

    # ------------------------------------------------------------------ reading

    def article_hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        if ids is None:
            rows = self._scan(self._articles, "part == 0", ["article_id", "hash"])
        else:  # by primary key (each article's first part): costs the ids given, not the collection
            keys = [_part_key(a, 0) for a in dict.fromkeys(ids)]
            rows = []
            for i in range(0, len(keys), PAGE):
                with self._lock:
                    rows += self._client.get(self._articles, ids=keys[i : i + PAGE], output_fields=["article_id", "hash"])
        return {r["article_id"]: r["hash"] for r in rows if r["article_id"]}

    def vectors_by_content(self, content_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        hashes = list(dict.fromkeys(content_hashes))
        for i in range(0, len(hashes), PAGE):
            expr = f"content_hash in {json.dumps(hashes[i : i + PAGE])}"
            with self._lock:
                rows = self._client.query(self._passages, filter=expr, output_fields=["content_hash", "dense"])
            for r in rows:
                out[r["content_hash"]] = np.asarray(r["dense"], dtype=np.float32)
        return out

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        with self._lock:
            res = self._client.search(self._passages, data=[np.asarray(vector, np.float32).tolist()], anns_field="dense",
                                      limit=max(1, k), search_params={"metric_type": "IP"}, output_fields=["id"])
        return [(_unkey(h["id"]), float(h["distance"])) for h in res[0]]

    def keyword_search(self, query: str, k: int) -> list[tuple[str, float]]:
        if not query.strip():
            return []
        with self._lock:
            res = self._client.search(self._passages, data=[query], anns_field="sparse", limit=max(1, k),
                                      search_params={"metric_type": "BM25"}, output_fields=["id"])
        # Milvus Lite reports BM25 as a negative distance, a server as a positive score: same order.
        return [(_unkey(h["id"]), abs(float(h["distance"]))) for h in res[0] if h["distance"]]

    def hybrid_search(self, vector: np.ndarray, query: str, k: int, rrf_k: int = 60) -> list[tuple[str, float]]:
        """Dense and BM25 fused server-side by reciprocal rank (``RRFRanker``)."""
        from pymilvus import AnnSearchRequest, RRFRanker

        pool = max(4 * k, 20)
        requests = [AnnSearchRequest(data=[np.asarray(vector, np.float32).tolist()], anns_field="dense",
                                     param={"metric_type": "IP"}, limit=pool)]
        if query.strip():
            requests.append(AnnSearchRequest(data=[query], anns_field="sparse", param={"metric_type": "BM25"}, limit=pool))
        with self._lock:
            res = self._client.hybrid_search(self._passages, requests, RRFRanker(rrf_k), limit=max(1, k), output_fields=["id"])
        return [(_unkey(h["id"]), float(h["distance"])) for h in res[0]]

    def passages(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPassage]:
        ids = list(ids)
        if not ids:
            return []
        fields = ["id", "article_id", "number", "start", "end", "passage"] + (["dense"] if with_vectors else [])
        with self._lock:
            rows = self._client.get(self._passages, ids=[_key(i) for i in dict.fromkeys(ids)], output_fields=fields)
        by_id = {_unkey(r["id"]): r for r in rows}
        meta = {a.id: a for a in self._article_meta({r["article_id"] for r in rows})}
        out = []
        for pid in ids:
            r = by_id.get(pid)
            if r is None:
                continue
            a = meta.get(r["article_id"]) or Article(r["article_id"], "", "")
            vec = np.asarray(r["dense"], dtype=np.float32) if with_vectors else None
            out.append(StoredPassage(Passage(r["article_id"], r["number"], r["start"], r["end"], r["passage"]), a, vec))
        return out

    def _article_meta(self, article_ids: set[str]) -> list[Article]:
        if not article_ids:
            return []
        with self._lock:
            rows = self._client.get(self._articles, ids=[_part_key(a, 0) for a in article_ids],
                                    output_fields=["article_id", "title", "date", "source", "url", *self._author_fields()])
        return [Article(r["article_id"], r["title"], "", r["date"], r["source"], r["url"], r.get("author") or "") for r in rows]

    def articles(self, ids: Sequence[str]) -> list[Article]:
        out = []
        for article_id in ids:
            with self._lock:
                first = self._client.get(self._articles, ids=[_part_key(article_id, 0)], output_fields=["*"])
                if not first:
                    continue
                head = first[0]
                rest = self._client.get(self._articles, ids=[_part_key(article_id, n) for n in range(1, head["parts"])],
                                        output_fields=["part", "text"]) if head["parts"] > 1 else []
            text = head["text"] + "".join(r["text"] for r in sorted(rest, key=lambda r: r["part"]))
            out.append(Article(article_id, head["title"], text, head["date"], head["source"], head["url"], head.get("author") or ""))
        return out

    def list_articles(self) -> list[Article]:
        rows = self._scan(self._articles, "part == 0", ["article_id", "title", "date", "source", "url", *self._author_fields()])
        return sorted((Article(r["article_id"], r["title"], "", r["date"], r["source"], r["url"], r.get("author") or "")
                       for r in rows if r["article_id"]), key=lambda a: a.id)

    def browse(self, words: Sequence[str] = (), limit: int = 200) -> ArticlePage:
        """See :meth:`qa.stores.base.IndexStore.browse` (filtered here, after a scan: Milvus has no substring filter
        that folds case)."""
        return page_articles(self.list_articles(), words, limit)

    def _scan(self, collection: str, expr: str, fields: list[str]) -> list[dict]:
        with self._lock, _quiet_pymilvus():
            it = self._client.query_iterator(collection, batch_size=PAGE, filter=expr, output_fields=fields)
        with self._lock:
            rows = []
            try:
                while batch := it.next():
                    rows.extend(batch)
            finally:
                it.close()
        return rows

    def _count(self, collection: str, expr: str = "") -> int:
        with self._lock:
            return int(self._client.query(collection, filter=expr, output_fields=["count(*)"])[0]["count(*)"])

    def __len__(self) -> int:
        return self._count(self._passages)

    def stats(self) -> StoreStats:
        return StoreStats(
            articles=self._count(self._articles, 'part == 0 and article_id != ""'),
            passages=len(self),
            embedding_model=self._settings.embedding_model,
            dimension=self._settings.dimension,
            index_type=self._settings.index_type,
            version=str(self._version),
            location=self.location,
            details={"collections": [self._passages, self._articles], "backend": "milvus"},
        )


LEASE_PK = "lease"


@contextlib.contextmanager
def writer_lease(location: str):
    """One writer at a time on a Milvus server: a lease row in ``<prefix>_current``, renewed while held.

    A lease held by a live writer refuses a second one with a message naming it; a lease whose writer
    was killed is taken over (at once when that process ran on this host, else when it expires after
    LEASE_S seconds). (A Milvus Lite file needs none: one process at a time opens it.)

    Raises:
        IndexStoreError: Another writer holds the lease.
    """
    uri, prefix = parse_location(location)
    client = _client(uri)
    name = _pointer_name(prefix)
    me = {"owner": _owner(), "token": uuid.uuid4().hex, "since": time.time()}
    lock, stop, held = threading.Lock(), threading.Event(), False

    def read() -> dict | None:
        rows = client.get(name, ids=[LEASE_PK], output_fields=["articles"])
        try:
            return json.loads(rows[0]["articles"]) if rows else None
        except ValueError:
            return None

    def take() -> None:
        info = dict(me, expires=time.time() + LEASE_S)
        client.upsert(name, [{"pk": LEASE_PK, "passages": "lease", "articles": json.dumps(info), "v": [0.0, 0.0]}])

    def renew() -> None:
        while not stop.wait(LEASE_S / 4):
            with lock, contextlib.suppress(Exception):
                if not stop.is_set():
                    take()

    try:
        try:
            _create_pointer(client, prefix)
            client.load_collection(name)
            for attempt in range(2):
                other = read()
                if other and other.get("token") != me["token"] and float(other.get("expires", 0)) > time.time() \
                        and _owner_alive(str(other.get("owner", ""))):
                    host, _, pid = str(other.get("owner", "?:?")).rpartition(":")
                    since = time.strftime("%H:%M:%S", time.localtime(float(other.get("since", 0))))
                    raise IndexStoreError(
                        f"Another qa index is writing to the index in {location} (process {pid} on {host}, since {since}); "
                        f"wait for it to finish, then run this again. (A writer that was killed frees it within {LEASE_S} s.)")
                if attempt == 0:
                    take()
                    time.sleep(0.2)  # a writer that took it at the same moment: the last upsert wins, both read it back
            held = True
        except IndexStoreError:
            raise
        except Exception as e:  # pymilvus's MilvusException and connection errors
            raise IndexStoreError(f"Cannot take the writer's lease on {location}: {e}") from None
        threading.Thread(target=renew, daemon=True, name="qa-milvus-lease").start()
        yield
    finally:
        stop.set()
        with lock:
            if held:
                with contextlib.suppress(Exception):
                    if (read() or {}).get("token") == me["token"]:
                        client.delete(name, ids=[LEASE_PK])
            _close_client(client, uri)


def _pointer_name(prefix: str) -> str:
    return f"{prefix}_current"


def _read_pointer(client, prefix: str, loaded: bool = False) -> tuple[str, str] | None:
    """The (passages, articles) collections of the published build, or None before the first.

    Args:
        loaded: The pointer collection is known to exist and be loaded (a store that opened it):
            one request instead of three, for the check before every question.
    """
    name = _pointer_name(prefix)
    if not loaded:
        if not client.has_collection(name):
            return None
        client.load_collection(name)
    rows = client.get(name, ids=[POINTER_ID], output_fields=["passages", "articles"])
    return (rows[0]["passages"], rows[0]["articles"]) if rows else None


def _create_pointer(client, prefix: str) -> None:
    from pymilvus import DataType

    name = _pointer_name(prefix)
    if client.has_collection(name):
        return
    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
    s.add_field("passages", DataType.VARCHAR, max_length=255)
    s.add_field("articles", DataType.VARCHAR, max_length=255)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector field in every collection
    params = client.prepare_index_params()
    params.add_index(field_name="v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=params, consistency_level="Strong")
    client.load_collection(name)  # readers of this store then read it without loading it each time


def _drop_format1_aliases(client, prefix: str) -> None:
    """Format 1 pointed readers at a build through aliases; a rebuild removes them."""
    try:
        with _quiet_pymilvus():
            aliases = set(client.list_aliases().get("aliases", []))
    except Exception:  # Milvus Lite 2.5 has no aliases (and so no format-1 index)
        return
    for alias in (f"{prefix}_passages", f"{prefix}_articles"):
        if alias in aliases:
            client.drop_alias(alias)


def _article_row(pk: str, article_id: str, part: int, a: Article, text: str, parts: int = 1, author: bool = True) -> dict:
    """A row of the articles collection (``author``: whether the collection has that field)."""
    row = {"pk": pk, "article_id": article_id, "part": part, "parts": parts, "title": a.title, "date": a.date,
           "source": a.source, "url": a.url, "hash": a.hash if article_id else "", "text": text, "v": [0.0, 0.0]}
    if author:
        row["author"] = a.author
    return row


def _passage_row(p: PassageRecord, vector: np.ndarray) -> dict:
    """A row of the passages collection, from a passage record and its (checked) vector."""
    q = p.passage
    return {"id": _key(q.id), "article_id": q.article_id, "number": q.number, "start": q.start, "end": q.end,
            "passage": q.text, "text": p.search_text, "content_hash": p.content_hash, "dense": vector.tolist()}


def _dense_index_type(client, index_type: str) -> str:
    lite = not str(getattr(client, "_uri", "") or "").startswith("http")
    if index_type in ("auto", "flat") or lite:
        return "flat"  # Milvus Lite supports FLAT; "auto" is exact, as FAISS's is up to 200k
    if index_type == "hnsw":
        return "hnsw"
    raise ValueError(f"unknown index type {index_type!r} (use auto, flat or hnsw)")


def _dense_index_params(kind: str) -> dict:
    if kind == "hnsw":
        return {"index_type": "HNSW", "metric_type": "IP", "params": {"M": 32, "efConstruction": 40}}
    return {"index_type": "FLAT", "metric_type": "IP"}


def _create_passages(client, name: str, settings: StoreSettings) -> None:
    from pymilvus import DataType, Function, FunctionType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=4096)  # escaped: up to 3 bytes a character
    s.add_field("article_id", DataType.VARCHAR, max_length=1024)
    s.add_field("number", DataType.INT64)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    s.add_field("passage", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    s.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=analyzer())
    s.add_field("content_hash", DataType.VARCHAR, max_length=64)
    s.add_field("dense", DataType.FLOAT_VECTOR, dim=settings.dimension)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]))
    params = client.prepare_index_params()
    settings.index_type = _dense_index_type(client, settings.index_type)
    params.add_index(field_name="dense", **_dense_index_params(settings.index_type))
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
    client.create_collection(name, schema=s, index_params=params, consistency_level="Strong")


def _create_articles(client, name: str) -> None:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=4096)
    s.add_field("article_id", DataType.VARCHAR, max_length=1024)
    s.add_field("part", DataType.INT64)
    s.add_field("parts", DataType.INT64)
    for f in ("title", "date", "source", "url", "hash", "author"):
        s.add_field(f, DataType.VARCHAR, max_length=4096)
    s.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector field in every collection
    params = client.prepare_index_params()
    params.add_index(field_name="v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=params, consistency_level="Strong")
