"""Articles: reading a folder of news articles (.txt, .md, .html, .json, .jsonl, .pdf, .docx) safely.

The formats themselves are in :mod:`qa.formats`; this module walks the folder (links,
limits, unreadable files), gives each article a stable id and drops duplicates.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import itertools
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from qa.config import (
    DEFAULT_MAX_ARTICLE_BYTES,
    DEFAULT_MAX_DOCUMENT_BYTES,
    DEFAULT_MAX_DOCUMENT_SECONDS,
    DEFAULT_MAX_JSON_DEPTH,
)
from qa.formats import ArticleError, Fields
from qa.formats.dates import parse_date
from qa.formats.pdf import PAGE_MARK
from qa.formats.html import parse_html
from qa.formats.isolated import DocumentReader, shared_reader
from qa.formats.markdown import parse_markdown
from qa.formats.plain import parse_plain
from qa.formats.records import json_records, jsonl_records, record_fields

__all__ = ["Article", "ArticleError", "ArticleReader", "load_articles", "parse_date", "parse_plain", "read_file"]

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".pdf", ".docx")
# PDF and Word files: read in a child process with a time budget (qa.formats.isolated).
DOCUMENT_SUFFIXES = (".pdf", ".docx")
# The defaults of Config.max_article_bytes / max_json_depth (qa.config imports this module's
# users, so it cannot be imported here).

# Byte-order marks, longest first (the UTF-32-LE mark begins with the UTF-16-LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class Article:
    """One article.

    Attributes:
        id: Stable id, from the article itself: its ``id`` field, else its ``url`` field
            (JSON records, Markdown front matter); else, for a record of a .json/.jsonl
            file, ``<file>#<hash of its title>``; else the file's path under the folder.
            Never a position in a file.
        title: Title.
        text: Body text as plain text; passages point into it by character offsets.
        date: Publication date, ISO ``YYYY-MM-DD``, or '' when unknown.
        source: The file it came from, relative to the articles folder.
        url: Where it was published, if known.
        author: Author(s), if known (the byline). Part of :attr:`hash` when known, so that a byline
            fixed in the file reaches the index; it is not embedded (a byline change costs no embedding).
        date_relative: The date was written relatively ("Posted 3 hours ago") and counted from the
            file's modification time; then it is not part of :attr:`hash`, and the date the index
            first gave the article is kept (touching the file neither moves it nor re-embeds).
    """

    id: str
    title: str
    text: str
    date: str = ""
    source: str = ""
    url: str = ""
    author: str = ""
    date_relative: bool = False

    @functools.cached_property
    def hash(self) -> str:
        """Content hash: changes when title, date, url, author or text change (what decides that the
        index rewrites the article; its passages are embedded again only where their text changed,
        see :func:`qa.stores.content_hash`, so a new url or byline costs no embedding).

        A relative date is left out: it moves with the file's modification time, not with the article.
        An article without an author hashes as it did before authors were stored (indexes built then
        see no change in it).
        """
        h = hashlib.sha256()
        parts = [self.title, "" if self.date_relative else self.date, self.url, self.text]
        if self.author:
            parts.append(self.author)
        for part in parts:
            h.update(part.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()[:32]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:12]


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1_000_000 else f"{n:,} bytes"


def _reason(e: OSError) -> str:
    return (e.strerror or str(e)).lower()


def _decode(data: bytes) -> str:
    """Text of a file: UTF-8, or UTF-16/32 with a byte-order mark."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as e:
                raise ArticleError(f"not {encoding.upper()} text after its byte-order mark ({e.reason} at byte {e.start})") from None
    if b"\0" in data[:8192]:
        raise ArticleError("binary file (or UTF-16 text without a byte-order mark)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ArticleError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None


@dataclass
class _Read:
    """An article and where it came from, for messages."""

    article: Article
    label: str  # 'feed.jsonl line 3', 'a.txt'
    link: bool = False  # read through a link (a second name for a file, when it is inside the folder)


class ArticleReader:
    """Reads a folder of articles: every file named once when skipped, nothing read twice.

    Args:
        max_article_bytes: Larger files (or .jsonl lines) are skipped with a message.
        max_json_depth: JSON nested deeper is refused (Python's parser would crash).
        follow_links: Read files and folders that symbolic links point to outside the
            folder. Links within it are always read; loops and broken links are named.
        max_document_bytes: Larger PDF and Word files are skipped with a message (their text
            is still held to ``max_article_bytes``).
        max_document_seconds: A PDF or Word file not read in this time is skipped with a message.
        documents: Reads PDF and Word files (default: the process's shared child process).
    """

    def __init__(
        self,
        max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        follow_links: bool = False,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        max_document_seconds: float = DEFAULT_MAX_DOCUMENT_SECONDS,
        documents: DocumentReader | None = None,
    ):
        self.max_article_bytes = max_article_bytes
        self.max_json_depth = max_json_depth
        self.follow_links = follow_links
        self.max_document_bytes = max_document_bytes
        self.max_document_seconds = max_document_seconds
        self.documents = documents

    def read_folder(self, folder: str | Path) -> tuple[list[Article], list[str]]:
        """Read every article under a folder (recursively; hidden files and folders skipped).

        Args:
            folder: The articles folder.

        Returns:
            (articles sorted by id, warnings: each file or record skipped and why, each
            duplicate and which copy was kept, each field ignored).

        Raises:
            FileNotFoundError: The folder does not exist.
        """
        root = Path(folder)
        if not root.is_dir():
            raise FileNotFoundError(f"articles folder not found: {root}")
        warnings: list[str] = []
        read: list[_Read] = []
        for path, rel, is_link in self._files(root, warnings):
            if path.suffix.lower() not in SUFFIXES:
                if path.name.lower() not in ("readme", "license"):
                    warnings.append(f"skipped {rel}: unsupported file type (use {', '.join(SUFFIXES)})")
                continue
            try:
                found, notes = self._read(path, rel)
            except ArticleError as e:
                warnings.append(f"skipped {rel}: {e}")
                continue
            except OSError as e:
                warnings.append(f"skipped {rel}: {_reason(e)}")
                continue
            for r in found:
                r.link = is_link
            read.extend(found)
            warnings.extend(notes)
        articles = _unique(read, warnings)
        return sorted(articles, key=lambda a: a.id), warnings

    def read_file(self, path: str | Path, source: str) -> tuple[list[Article], list[str]]:
        """Read one file into articles.

        Args:
            path: The file.
            source: Its name relative to the articles folder.

        Returns:
            (the articles in it, warnings: records skipped and fields ignored).

        Raises:
            ArticleError: The file cannot be read as articles at all.
            OSError: It cannot be opened.
        """
        found, notes = self._read(Path(path), source)
        return [r.article for r in found], notes

    # --- walking the folder ---------------------------------------------------------

    def _files(self, root: Path, warnings: list[str]) -> Iterator[tuple[Path, str, bool]]:
        """(path, name under root, whether it is a link) of each file to read, in name order.

        Folders reached through links are walked after all the others, so that a folder is
        read under its own name and a link to it is named as a second way in.
        """
        top = root.resolve()
        seen_dirs = {top: "./"}  # real path -> the name it was read under
        files: list[tuple[str, Path, bool]] = []
        stack: list[tuple[Path, str, Path]] = [(root, "", top)]
        linked: list[tuple[Path, str, Path]] = []
        while stack or linked:
            if not stack:  # every folder reachable without links is read: now the linked ones
                path, name, real_dir = linked.pop(0)
                if real_dir in seen_dirs:
                    where = seen_dirs[real_dir]
                    if (top / name).parent.resolve().is_relative_to(real_dir):
                        warnings.append(f"skipped {name}/: link loop (it points to {where}, a folder that holds it)")
                    else:
                        warnings.append(f"skipped {name}/: link to {where}, which is read under that name")
                    continue
                seen_dirs[real_dir] = name + "/"
                stack.append((path, name + "/", real_dir))
            folder, rel, _ = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as e:
                warnings.append(f"skipped folder {rel or './'}: {_reason(e)}")
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                name = rel + entry.name
                path = Path(entry.path)
                real = path
                is_link = entry.is_symlink()
                if is_link:
                    try:
                        real = path.resolve(strict=True)
                    except FileNotFoundError:
                        warnings.append(f"skipped {name}: broken link (points to {os.readlink(path)}, which does not exist)")
                        continue
                    except (RuntimeError, OSError):  # RuntimeError: a loop, on Python < 3.13
                        warnings.append(f"skipped {name}: link loop (links that point to each other, never to a file)")
                        continue
                    if not real.is_relative_to(top) and not self.follow_links:
                        warnings.append(f"skipped {name}: link to {real}, outside the articles folder (use --follow-links to read it)")
                        continue
                try:
                    mode = real.stat().st_mode
                except OSError as e:
                    warnings.append(f"skipped {name}: {_reason(e)}")
                    continue
                if stat.S_ISDIR(mode):
                    if is_link:
                        linked.append((path, name, real))
                    elif real.resolve() in seen_dirs:  # inside a linked folder, reached before
                        warnings.append(f"skipped {name}/: already read as {seen_dirs[real.resolve()]}")
                    else:
                        seen_dirs[real.resolve()] = name + "/"
                        stack.append((path, name + "/", real.resolve()))
                elif stat.S_ISREG(mode):
                    files.append((name, path, is_link))
                else:
                    warnings.append(f"skipped {name}: not a regular file (a device, pipe or socket)")
        for name, path, is_link in sorted(files):
            yield path, name, is_link

    # --- one file ---------------------------------------------------------------------

    def _too_big(self, size: int) -> ArticleError:
        return ArticleError(f"{_size(size)}, larger than the limit of {_size(self.max_article_bytes)} (Config.max_article_bytes)")

    def _read(self, path: Path, source: str) -> tuple[list[_Read], list[str]]:
        info = path.stat()
        reference = datetime.fromtimestamp(info.st_mtime)  # relative dates count from here
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return self._read_jsonl(path, source, reference)
        if suffix in DOCUMENT_SUFFIXES:
            return self._read_document(path, source, info.st_size)
        if info.st_size > self.max_article_bytes:
            hint = "; as .jsonl (one article a line) it would be read line by line" if suffix == ".json" else ""
            raise ArticleError(f"{self._too_big(info.st_size)}{hint}")
        text = _decode(path.read_bytes())
        if not text.strip():
            raise ArticleError("empty file")
        if suffix == ".json":
            return self._records(json_records(text, self.max_json_depth), source, reference)
        if suffix in (".html", ".htm"):
            fields = parse_html(text, reference)
        elif suffix in (".md", ".markdown"):
            fields = parse_markdown(text, reference)
        else:
            fields = parse_plain(text, reference)
        if not fields.text.strip():
            raise ArticleError("no article text after the title" if fields.title else "no article text found")
        own_id = (fields.id or fields.url) if suffix in (".md", ".markdown") else ""  # see Article.id
        return [self._article(fields, source, own_id)], [f"{source}: {n}" for n in fields.notes]

    def _read_document(self, path: Path, source: str, size: int) -> tuple[list[_Read], list[str]]:
        """A PDF or Word file, read in the child process within the time budget."""
        if size > self.max_document_bytes:
            raise ArticleError(f"{_size(size)}, larger than the limit of {_size(self.max_document_bytes)} "
                               "for a PDF or Word file (Config.max_document_bytes)")
        if size == 0:
            raise ArticleError("empty file")
        fields = (self.documents or shared_reader()).read(path, self.max_document_seconds)
        notes = [f"{source}: {n}" for n in fields.notes]
        if not fields.text.replace(PAGE_MARK, "").strip():
            if any("without a text layer" in n for n in fields.notes):
                raise ArticleError("no page has a text layer (a scan?): not read (qa has no OCR)")
            raise ArticleError("no article text found")
        text_bytes = len(fields.text.encode("utf-8"))
        if text_bytes > self.max_article_bytes:
            raise ArticleError(f"its text is {_size(text_bytes)}, larger than the limit of "
                               f"{_size(self.max_article_bytes)} (Config.max_article_bytes)")
        return [self._article(fields, source, "")], notes

    def _read_jsonl(self, path: Path, source: str, reference: datetime) -> tuple[list[_Read], list[str]]:
        with path.open("rb") as f:
            head = f.read(4)
        if any(head.startswith(bom) for bom, enc in _BOMS if enc != "utf-8-sig"):
            # UTF-16/32 lines cannot be split on b'\n': read the whole file
            size = path.stat().st_size
            if size > self.max_article_bytes:
                raise self._too_big(size)
            lines: Iterator[tuple[int, str | ArticleError]] = enumerate(_decode(path.read_bytes()).splitlines(), 1)
        else:
            lines = self._utf8_lines(path)
        found, notes = self._records(jsonl_records(lines, self.max_json_depth), source, reference)
        return found, notes

    def _utf8_lines(self, path: Path) -> Iterator[tuple[int, str | ArticleError]]:
        """Lines of a UTF-8 file, read one at a time; a line that cannot be read is an ArticleError."""
        with path.open("rb") as f:
            for n in itertools.count(1):
                line = f.readline(self.max_article_bytes + 1)
                if not line:
                    return
                if len(line) > self.max_article_bytes and not line.endswith(b"\n"):
                    size = len(line)
                    while (rest := f.readline(1 << 20)) and (size := size + len(rest)) and not rest.endswith(b"\n"):
                        pass  # skip the rest of the long line without holding it
                    yield n, self._too_big(size)
                    continue
                if n == 1 and line.startswith(codecs.BOM_UTF8):
                    line = line[len(codecs.BOM_UTF8):]
                if b"\0" in line:
                    yield n, ArticleError("binary data (a NUL byte)")
                    continue
                try:
                    yield n, line.decode("utf-8")
                except UnicodeDecodeError as e:
                    yield n, ArticleError(f"not UTF-8 text ({e.reason} at byte {e.start} of the line)")

    def _records(
        self, records: Iterable[tuple[str, object]], source: str, reference: datetime
    ) -> tuple[list[_Read], list[str]]:
        """Articles from JSON records: a bad record is skipped with where it was, the rest kept."""
        fields_list: list[Fields] = []
        notes: list[str] = []
        errors: list[str] = []
        for where, record in records:
            try:
                if isinstance(record, ArticleError):
                    raise record
                fields = record_fields(record, where, reference)
            except ArticleError as e:
                if not where:  # the file's one object
                    raise
                errors.append(f"{where}: {e}")
                continue
            fields_list.append(fields)
            notes.extend(f"{source} {where}: {n}" if where else f"{source}: {n}" for n in fields.notes)
        if not fields_list:
            if not errors:
                raise ArticleError("no records in it (only blank lines)")
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            raise ArticleError("no article could be read from it: " + "; ".join(errors[:3]) + more)
        notes[:0] = [f"skipped {source} {e}" for e in errors]
        # Records without an id or url: '<file>#<hash of the title>', or, for records of
        # one file that share a title, of title and text, so that no id depends on order.
        titles: dict[str, int] = {}
        for f in fields_list:
            if not (f.id or f.url):
                titles[f.title] = titles.get(f.title, 0) + 1
        found = []
        for f in fields_list:
            own = f.id or f.url
            if not own:
                own = f"{source}#{_digest(f.title) if titles[f.title] == 1 else _digest(f.title, f.text)}"
            found.append(self._article(f, source, own))
        return found, notes

    @staticmethod
    def _article(fields: Fields, source: str, own_id: str) -> _Read:
        article = Article(
            id=own_id or source,
            title=fields.title or Path(source).stem,
            # a paged text keeps a page mark at its start (the first page has no text): page numbers count them
            text=fields.text if fields.pages else fields.text.strip(),
            date=fields.date,
            source=source,
            url=fields.url,
            author=fields.author,
            date_relative=fields.date_relative,
        )
        return _Read(article, f"{source} {fields.where}" if fields.where else source)


def _unique(read: list[_Read], warnings: list[str]) -> list[Article]:
    """One article per id and per text; each dropped copy named with the one kept.

    Same id: the newest by date is kept; with equal or no dates, the one read last (later
    in the folder or the file: an update appended to a feed). Same text under different
    ids: the first in the folder is kept (a file's own name before a link to it).
    """
    by_id: dict[str, list[_Read]] = {}
    for r in read:
        by_id.setdefault(r.article.id, []).append(r)
    kept: list[_Read] = []
    for aid, group in by_id.items():
        if len(group) == 1:
            kept.append(group[0])
            continue
        best = max(enumerate(group), key=lambda ir: (ir[1].article.date, ir[0]))[1]
        why = "the newest" if any(g.article.date != best.article.date for g in group) else "the last one read"
        others = ", ".join(g.label for g in group if g is not best)
        warnings.append(f"same id {aid!r} in {best.label} and {others}: kept {best.label} ({why})")
        kept.append(best)
    order = {id(r): n for n, r in enumerate(read)}
    kept.sort(key=lambda r: order[id(r)])  # folder order again
    by_text: dict[str, list[_Read]] = {}
    for r in kept:
        by_text.setdefault(hashlib.sha256(" ".join(r.article.text.split()).encode("utf-8")).hexdigest(), []).append(r)
    out = []
    for group in by_text.values():
        first = next((g for g in group if not g.link), group[0])  # a file's own name before a link's
        out.append(first.article)
        if len(group) > 1:
            others = ", ".join(g.label for g in group if g is not first)
            warnings.append(f"same text in {first.label} and {others}: indexed once, as {first.label}")
    return out


def read_file(path: str | Path, source: str) -> list[Article]:
    """Read one file into articles with the default limits (see :class:`ArticleReader`)."""
    return ArticleReader().read_file(path, source)[0]


def reader_options(config: object) -> dict:
    """The :class:`ArticleReader` settings held by a :class:`qa.Config` (defaults where it has none)."""
    return {
        "max_article_bytes": getattr(config, "max_article_bytes", DEFAULT_MAX_ARTICLE_BYTES),
        "max_json_depth": getattr(config, "max_json_depth", DEFAULT_MAX_JSON_DEPTH),
        "follow_links": getattr(config, "follow_links", False),
        "max_document_bytes": getattr(config, "max_document_bytes", DEFAULT_MAX_DOCUMENT_BYTES),
        "max_document_seconds": getattr(config, "max_document_seconds", DEFAULT_MAX_DOCUMENT_SECONDS),
    }


def load_articles(
    folder: str | Path,
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
    follow_links: bool = False,
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    max_document_seconds: float = DEFAULT_MAX_DOCUMENT_SECONDS,
) -> tuple[list[Article], list[str]]:
    """Read every article under a folder (see :meth:`ArticleReader.read_folder`).

    Args:
        folder: The articles folder.
        max_article_bytes: Larger files (or .jsonl lines) are skipped with a message.
        max_json_depth: Deeper JSON is refused with a message.
        follow_links: Read what links pointing outside the folder point to.
        max_document_bytes: Larger PDF and Word files are skipped with a message.
        max_document_seconds: The time budget of one PDF or Word file.

    Returns:
        (articles sorted by id, warnings naming each file skipped and why).
    """
    return ArticleReader(max_article_bytes, max_json_depth, follow_links, max_document_bytes,
                         max_document_seconds).read_folder(folder)
