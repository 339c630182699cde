"""Plain-text articles (.txt): first line the title, a 'Posted <date>' line the date."""

from __future__ import annotations

import re
from datetime import datetime

from qa.formats import Fields
from qa.formats.dates import is_relative, parse_date

# Lines that news sites put around the article text; they are not part of the story.
BOILERPLATE = re.compile(
    r"^\s*(leave a comment|\d+\s+comments?|comments?|share( this)?( article| story)?|print|email|"
    r"tweet|related( stories| articles)?|advertisement|read more|subscribe.*|follow us.*|"
    r"click here.*|posted in .*|tags?:.*|filed under.*)\s*$",
    re.IGNORECASE,
)
# A metadata line under the title: 'Posted July 4th, 2011', 'Updated 3 hours ago', 'Posted by admin'.
POSTED = re.compile(r"^\s*(posted|published|updated|last updated)(\s+on)?\s*:?\s+(?P<date>.+)$", re.IGNORECASE)


def parse_plain(text: str, reference: datetime | None = None, title: str = "") -> Fields:
    """Title, date and body of a plain-text article.

    Args:
        text: The file's text.
        reference: When the file was last modified (for 'Updated 3 hours ago').
        title: A title known already (Markdown front matter); then the first line is
            body text unless it repeats that title.

    Returns:
        The fields; ``date`` from the first 'Posted/Published/Updated <date>' line
        before the body ('' when that line holds no date, as in 'Posted by admin').
        Such lines and boilerplate lines ('Leave a comment', 'Share') are dropped.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    date, relative, body = "", False, []
    need_title = True
    for line in lines:
        if need_title:
            if line.strip():
                need_title = False
                first = re.sub(r"^#+\s*", "", line.strip())
                if not title:
                    title = first
                    continue
                if first.casefold() == title.casefold():
                    continue
            else:
                continue
        if not any(b.strip() for b in body) and POSTED.match(line):
            if not date:
                written = POSTED.match(line).group("date")
                date, relative = parse_date(written, reference), is_relative(written)
            continue  # metadata, not story, even when it holds no date
        if BOILERPLATE.match(line):
            continue
        body.append(line.rstrip())
    body_text = re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip()
    return Fields(title=title, text=body_text, date=date, date_relative=bool(date) and relative)
