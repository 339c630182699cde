"""Articles: reading a folder of news articles (.txt, .md, .html, .json, .jsonl)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")

# Lines that news sites put around the article text; they are not part of the story.
BOILERPLATE = re.compile(
    r"^\s*(leave a comment|\d+\s+comments?|comments?|share( this)?( article| story)?|print|email|"
    r"tweet|related( stories| articles)?|advertisement|read more|subscribe.*|follow us.*|"
    r"click here.*|posted in .*|tags?:.*|filed under.*)\s*$",
    re.IGNORECASE,
)
POSTED = re.compile(r"^\s*(posted|published|updated)(\s+on)?\s*:?\s+(?P<date>.+)$", re.IGNORECASE)


@dataclass
class Article:
    """One article.

    Attributes:
        id: Stable id: the file's path under the articles folder (``#n`` for the n-th
            record of a .json / .jsonl file).
        title: Title.
        text: Body text; passages point into it by character offsets.
        date: Publication date (ISO ``YYYY-MM-DD`` where it could be parsed, else as written).
        source: The file it came from, relative to the articles folder.
        url: Where it was published, if known.
    """

    id: str
    title: str
    text: str
    date: str = ""
    source: str = ""
    url: str = ""

    @functools.cached_property
    def hash(self) -> str:
        """Content hash: changes when title, date, url or text change (articles are not edited once made)."""
        h = hashlib.sha256()
        for part in (self.title, self.date, self.url, self.text):
            h.update(part.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()[:32]


class ArticleError(ValueError):
    """A file that cannot be read as an article."""


def parse_date(text: str) -> str:
    """ISO date from text such as 'July 4th, 2011 at 9:00 pm (UTC-5)'; the text itself if unparseable."""
    from dateutil import parser

    cleaned = re.sub(r"\(.*?\)", " ", text).strip()
    try:
        return parser.parse(cleaned, fuzzy=True).date().isoformat()
    except (ValueError, OverflowError):
        return text.strip()


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise ArticleError("binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArticleError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not text.strip():
        raise ArticleError("empty file")
    return text


def parse_plain(text: str) -> tuple[str, str, str]:
    """Title, date and body of a plain-text or Markdown article.

    The first non-empty line is the title; a 'Posted <date>' line gives the date;
    boilerplate lines ('Leave a comment', 'Share', ...) are dropped.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    title, date, body = "", "", []
    for line in lines:
        if not title:
            if line.strip():
                title = re.sub(r"^#+\s*", "", line.strip())
            continue
        m = POSTED.match(line)
        if m and not date and not any(b.strip() for b in body):
            date = parse_date(m.group("date"))
            continue
        if BOILERPLATE.match(line):
            continue
        body.append(line.rstrip())
    body_text = re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip()
    return title, date, body_text


def parse_html(text: str) -> tuple[str, str, str]:
    """Title, date and article text of an HTML page (no scripts, styles or page chrome)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg"]):
        tag.decompose()
    title = ""
    h1 = soup.find("h1")
    if h1 and h1.get_text(strip=True):
        title = h1.get_text(" ", strip=True)
    elif soup.title and soup.title.get_text(strip=True):
        title = soup.title.get_text(" ", strip=True)
    date = ""
    meta = soup.find("meta", attrs={"property": "article:published_time"}) or soup.find(
        "meta", attrs={"name": re.compile("date", re.I)}
    )
    if meta and meta.get("content"):
        date = parse_date(meta["content"])
    elif soup.find("time"):
        t = soup.find("time")
        date = parse_date(t.get("datetime") or t.get_text(" ", strip=True))
    root = soup.find("article") or soup.find("main") or soup.body or soup
    if h1:
        h1.decompose()
    blocks = []
    for el in root.find_all(["p", "li", "h2", "h3", "h4", "blockquote", "pre"]):
        if el.find_parent(["p", "li", "blockquote", "pre"]):
            continue  # its text is already in the enclosing block
        block = " ".join(el.get_text(" ", strip=True).split())
        if block and not BOILERPLATE.match(block) and not POSTED.match(block):
            blocks.append(block)
    if not blocks:
        blocks = [" ".join(root.get_text(" ", strip=True).split())]
    return title, date, "\n\n".join(b for b in blocks if b)


def _records(suffix: str, text: str) -> list[dict]:
    if suffix == ".jsonl":
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ArticleError(f"line {n}: invalid JSON ({e.msg})") from None
        return out
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ArticleError(f"invalid JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    return data if isinstance(data, list) else [data]


def read_file(path: Path, source: str) -> list[Article]:
    """Read one file into articles.

    Args:
        path: The file.
        source: Its name relative to the articles folder (becomes the article id).

    Returns:
        The articles in the file (several for .json lists and .jsonl).

    Raises:
        ArticleError: The file cannot be read, parsed, or holds no article text.
    """
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl"):
        articles = []
        records = _records(suffix, text)
        for n, rec in enumerate(records):
            if not isinstance(rec, dict) or not str(rec.get("text") or "").strip():
                raise ArticleError(f"record {n}: needs an object with a non-empty 'text' field")
            rid = source if len(records) == 1 else f"{source}#{n}"
            date = str(rec.get("date") or "")
            articles.append(
                Article(
                    id=rid,
                    title=str(rec.get("title") or "").strip() or Path(source).stem,
                    text=str(rec["text"]).strip(),
                    date=parse_date(date) if date else "",
                    source=source,
                    url=str(rec.get("url") or ""),
                )
            )
        return articles
    title, date, body = parse_html(text) if suffix in (".html", ".htm") else parse_plain(text)
    if not body.strip():
        raise ArticleError("no article text after the title")
    return [Article(id=source, title=title or Path(source).stem, text=body, date=date, source=source)]


def load_articles(folder: str | Path) -> tuple[list[Article], list[str]]:
    """Read every article under a folder (recursively, hidden files skipped).

    Args:
        folder: The articles folder.

    Returns:
        (articles sorted by id, warnings naming each file that was skipped and why).
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"articles folder not found: {root}")
    articles: list[Article] = []
    warnings: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.suffix.lower() not in SUFFIXES:
            if path.name.lower() not in ("readme", "license"):
                warnings.append(f"skipped {rel}: unsupported file type (use {', '.join(SUFFIXES)})")
            continue
        try:
            articles.extend(read_file(path, rel))
        except (ArticleError, OSError) as e:
            warnings.append(f"skipped {rel}: {e}")
    for w in warnings:
        logger.warning(w)
    return sorted(articles, key=lambda a: a.id), warnings
