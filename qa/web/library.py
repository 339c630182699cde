"""The page's article library: the list of indexed articles, and articles added from the page."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from qa.articles import DOCUMENT_SUFFIXES, SUFFIXES, Article, ArticleError, ArticleReader, reader_options
from qa.engine import Engine


def page_rows(page) -> dict:
    """One page of the article list (a :class:`qa.stores.ArticlePage`, newest first) for the page: its counts, and
    its articles as rows (id, title, date, source, url)."""
    rows = [{"id": a.id, "title": a.title, "date": a.date, "source": a.source, "url": a.url} for a in page.articles]
    return {"total": page.total, "matching": page.matching, "rows": rows}


# Copies of original files handed to the page (Gradio serves only files under the working
# folder or the temporary folder, and the articles folder may be elsewhere).
_ORIGINALS = Path(tempfile.gettempdir()) / "qa-originals"


def original_file(config, article: dict | None) -> str | None:
    """A copy of an article's own file (a PDF, a Word file) to download from the article view, or None.

    Only PDF and Word files are offered (other articles are shown whole as text), and only a file
    that is still in the articles folder, inside it, by the name it was indexed under.

    Args:
        config: Settings (``articles_dir``).
        article: The article as the viewer shows it (``source``), or None.

    Returns:
        The path of a copy under the temporary folder, named as the original.
    """
    source = (article or {}).get("source") or ""
    if Path(source).suffix.lower() not in DOCUMENT_SUFFIXES:
        return None
    folder = Path(config.articles_dir).resolve()
    path = (folder / source).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        return None
    # one folder per file (a hash of its name): two articles' files of the same name never meet
    target = _ORIGINALS / hashlib.sha256(str(path).encode()).hexdigest()[:16] / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return str(target)


def stage(config, paths: list[str]) -> tuple[list[Article], list[str], list[str]]:
    """Read uploaded files and copy the articles among them into the articles folder (not indexed yet).

    Each file is read first: one that is not an article (wrong type, broken JSON, binary,
    empty) is named in a warning and neither copied nor indexed, so nothing already there
    is lost. Nothing in the folder is ever overwritten: a file whose name is taken is refused
    with a message (rename it to add it as a new article), and so is a hidden name (".x.txt",
    which the folder's indexing skips).

    Args:
        config: Settings (``articles_dir`` receives the files; the reader's limits apply).
        paths: Uploaded files (their names are kept).

    Returns:
        (the articles read, the paths written in the folder, warnings).
    """
    folder = Path(config.articles_dir)
    reader = ArticleReader(**reader_options(config))
    articles: list[Article] = []
    warnings: list[str] = []
    written: list[str] = []
    for p in map(Path, paths):
        name = p.name
        if name.startswith("."):
            warnings.append(f"skipped {name}: a hidden file name (starting with '.') is not indexed from the folder; rename it")
            continue
        if (folder / name).exists():
            warnings.append(f"skipped {name}: an article file of that name is already in the folder and was left as it is; "
                            "rename the file to add it as a new article")
            continue
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
        try:  # "x": never replaces a file, even one written since the check above
            with p.open("rb") as src, (folder / name).open("xb") as dst:
                shutil.copyfileobj(src, dst)
        except FileExistsError:
            warnings.append(f"skipped {name}: an article file of that name is already in the folder; rename the file")
            continue
        written.append(str(folder / name))  # kept with the other articles, so `qa index` keeps it too
        articles.extend(found)
    return articles, written, warnings


def add_files(engine: Engine, paths: list[str]) -> dict:
    """Copy uploaded article files into the engine's articles folder (:func:`stage`) and index them with this engine.

    Args:
        engine: An opened engine; its ``config.articles_dir`` receives the files.
        paths: Uploaded files (their names are kept).

    Returns:
        ``{"added": [article ids], "files": [paths written in the folder], "warnings": [messages],
        "summary": index report}``.
    """
    articles, written, warnings = stage(engine.config, paths)
    if not articles:
        return {"added": [], "files": [], "warnings": warnings, "summary": "nothing to add"}
    report = engine.upsert(articles)
    return {"added": [a.id for a in articles], "files": written, "warnings": warnings + report.warnings,
            "summary": report.summary()}
