"""Where a citation's answer is in the article's own file, for plain-text (.txt) articles.

Offsets in :class:`qa.retrieval.Citation` point into the text qa indexed: for a .txt file
that is the file without its title line, 'Posted ...' line, boilerplate lines and extra
blank lines. Every line of that text is still a line of the file, in order, so the text
maps back to the file line by line; this module finds that mapping when an answer is
given (the store keeps no mapping, so nothing changes in the index format).
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Callable, Sequence

from qa.retrieval import Citation



def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line without its end) of each line, split as the .txt reader splits (\r\n, \r or \n)."""
    out, start = [], 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        out.append((start, text[start:m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return out


def text_to_file(text: str, file_text: str) -> Callable[[int], int | None] | None:
    """A function from an offset in an article's indexed text to the same character's offset in its file.

    Args:
        text: The article text qa indexed.
        file_text: The file's text as read (decoded, byte-order mark removed).

    Returns:
        The mapping, or None when the text's lines cannot all be found in the file in order
        (the file changed since it was indexed, or it is not a plain-text article).
    """
    file_lines = _lines(file_text)
    starts: dict[int, int] = {}  # offset of a text line -> offset of that line in the file
    at, j = 0, 0
    for line in text.split("\n"):
        if line.strip():
            while j < len(file_lines):
                found = file_lines[j][1].rstrip()
                # the same line, or (the text's first line) the same after leading blanks were stripped
                if found.endswith(line) and not found[: len(found) - len(line)].strip():
                    break
                j += 1
            if j == len(file_lines):
                return None
            file_start, found = file_lines[j][0], file_lines[j][1].rstrip()
            starts[at] = file_start + len(found) - len(line)
            j += 1
        at += len(line) + 1
    line_offsets = sorted(starts)

    def where(offset: int) -> int | None:
        i = bisect.bisect_right(line_offsets, offset) - 1
        if i < 0:
            return None
        return starts[line_offsets[i]] + offset - line_offsets[i]

    return where


def locate(citations: Sequence[Citation], articles_dir: str | Path, article_text: Callable[[str], str | None]) -> None:
    """Set ``file_answer_start`` / ``file_answer_end`` on the citations of .txt articles (in place).

    Left None when the file is gone, changed since it was indexed, or not plain text.

    Args:
        citations: An answer's citations.
        articles_dir: The folder the articles were read from.
        article_text: The indexed text of an article, by id.
    """
    files: dict[str, tuple[Callable[[int], int | None], str] | None] = {}
    for c in citations:
        if not c.source.lower().endswith(".txt"):
            continue
        if c.source not in files:
            files[c.source] = None
            text = article_text(c.article_id)
            try:
                file_text = (Path(articles_dir) / c.source).read_bytes().decode("utf-8-sig")
            except (OSError, UnicodeDecodeError):
                continue
            where = text_to_file(text, file_text) if text is not None else None
            if where is not None:
                files[c.source] = (where, file_text)
        if files[c.source] is None or c.answer_end <= c.answer_start:
            continue
        where, file_text = files[c.source]
        start, last = where(c.answer_start), where(c.answer_end - 1)
        if start is None or last is None:
            continue
        # Checked, not trusted: the span in the file must read as the answer does.
        answer = c.passage[c.answer_start - c.passage_start:c.answer_end - c.passage_start]
        if file_text[start:last + 1].replace("\r\n", "\n").replace("\r", "\n") == answer:
            c.file_answer_start, c.file_answer_end = start, last + 1
