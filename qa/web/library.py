"""The page's article library: the list of indexed articles, and articles added from the page."""

from __future__ import annotations

import shutil
from pathlib import Path

from qa.articles import SUFFIXES, Article, ArticleError, ArticleReader, reader_options
from qa.engine import Engine


def listing(articles: list[Article]) -> list[dict]:
    """Articles as rows for the page (id, title, date, source, url): newest first, undated last, then by title.

    Args:
        articles: The indexed articles (text not needed).

    Returns:
        One dict per article.
    """
    rows = [{"id": a.id, "title": a.title, "date": a.date, "source": a.source, "url": a.url} for a in articles]
    rows.sort(key=lambda r: r["title"].lower())
    rows.sort(key=lambda r: r["date"] or "", reverse=True)  # stable: titles stay sorted within a date
    return rows


def add_files(engine: Engine, paths: list[str]) -> dict:
    """Copy uploaded article files into the engine's articles folder and index them incrementally.

    Each file is read first: one that is not an article (wrong type, broken JSON, binary,
    empty) is named in a warning and neither copied nor indexed, so nothing already there
    is lost. A file with the name of one already in the folder replaces it (same article id).

    Args:
        engine: An opened engine; its ``config.articles_dir`` receives the files.
        paths: Uploaded files (their names are kept).

    Returns:
        ``{"added": [article ids], "files": [paths written in the folder], "warnings": [messages],
        "summary": index report}``.
    """
    folder = Path(engine.config.articles_dir)
    reader = ArticleReader(**reader_options(engine.config))
    articles: list[Article] = []
    warnings: list[str] = []
    written: list[str] = []
    for p in map(Path, paths):
        name = p.name
        if p.suffix.lower() not in SUFFIXES:
            warnings.append(f"skipped {name}: unsupported file type (use {', '.join(SUFFIXES)})")
            continue
        try:
            found, notes = reader.read_file(p, name)
        except (ArticleError, OSError) as e:
            warnings.append(f"skipped {name}: {e}")
            continue
        warnings += notes
        if not found:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, folder / name)  # kept with the other articles, so `qa index` keeps it too
        written.append(str(folder / name))
        articles.extend(found)
    if not articles:
        return {"added": [], "files": [], "warnings": warnings, "summary": "nothing to add"}
    report = engine.upsert(articles)
    return {"added": [a.id for a in articles], "files": written, "warnings": warnings + report.warnings,
            "summary": report.summary()}
