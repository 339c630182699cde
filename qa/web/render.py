"""The chat reply: HTML (answer first, sources collapsible below it) and the same reply as plain text.

Every piece of article text and every question is HTML-escaped before it is put
into the reply, so markup inside an article shows as text and never runs. Links are
made only from http(s) URLs. The reply is one HTML block with no blank lines, so
Markdown does not reinterpret it. The renderer works from the :class:`Answer` alone:
the full article is fetched on demand by the page, never embedded in a reply.

Under the answer line comes the sentence that states it (the answer marked) with its
source (title, date, byline). "show article" links carry the article's id and the range
to show in their fragment (``#article=ID&start=..&end=..&answer_start=..&answer_end=..``):
the page's script hands it to the viewer, which marks the range and scrolls to it.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, quote, urlsplit

from qa.answers import NO_ANSWER, declined_note, newer_note
from qa.engine import Answer, Source
from qa.formats.pdf import PAGE_MARK
from qa.news import describe
from qa.pages import is_paged


def _text(s: str) -> str:
    """Escape text for HTML and keep paragraph breaks without blank lines."""
    return html.escape(s, quote=True).replace("\r", "").replace("\n\n", "<br><br>").replace("\n", "<br>")


def safe_url(url: str) -> str | None:
    """The URL if it is an absolute http(s) URL (never ``javascript:`` or ``data:``), else None."""
    url = (url or "").strip()
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc and not re.search(r"\s", url) else None


def byline(author: str) -> str:
    """"by X" for an article's author ("" when unknown; a byline that starts with "By" is not doubled)."""
    author = " ".join((author or "").split())
    author = re.sub(r"^by\s+", "", author, flags=re.IGNORECASE)
    return f"by {author}" if author else ""


def show_link(article_id: str, start: int | None = None, end: int | None = None,
              answer_start: int | None = None, answer_end: int | None = None, text: str = "show article") -> str:
    """A "show article" link: the page opens the article in its viewer, marks ``start:end`` (article offsets;
    the answer inside it as well) and scrolls to it.

    The page's script reads the fragment (the chat's sanitizer drops data-* attributes).
    """
    frag = "article=" + quote(article_id, safe="")
    if start is not None and end is not None:
        frag += f"&start={int(start)}&end={int(end)}"
        if answer_start is not None and answer_end is not None:
            frag += f"&answer_start={int(answer_start)}&answer_end={int(answer_end)}"
    return f'<a class="qa-show" href="#{html.escape(frag, quote=True)}">{_text(text)}</a>'


def parse_show(fragment: str) -> tuple[str, tuple[int, int] | None, tuple[int, int] | None]:
    """The article id, the range to mark and the answer's range from a "show article" fragment (what
    :func:`show_link` writes, with or without its leading ``#``); ranges that are not numbers are None.
    """
    fields = dict(parse_qsl((fragment or "").lstrip("#"), keep_blank_values=True))

    def span(a: str, b: str) -> tuple[int, int] | None:
        try:
            s, e = int(fields[a]), int(fields[b])
        except (KeyError, ValueError):
            return None
        return (s, e) if 0 <= s < e else None

    return fields.get("article", ""), span("start", "end"), span("answer_start", "answer_end")


def page_label(page: int | None) -> str:
    """'p. 4' for a citation of a PDF article's page; '' for articles without pages."""
    return f"p. {page}" if page else ""


def _paged(text: str, start: int, end: int) -> str:
    """``text[start:end]`` escaped, each page mark in it shown as the page that begins there."""
    pieces = text[start:end].split(PAGE_MARK)
    page = text.count(PAGE_MARK, 0, start) + 1
    out = [_text(pieces[0])]
    for n, piece in enumerate(pieces[1:], page + 1):
        out.append(f'<span class="qa-page" role="separator">p. {n}</span>{_text(piece)}')
    return "".join(out)


def _cite_head(c: Source, spans: list[tuple[int, int]] | None = None) -> str:
    url = safe_url(c.url)
    title = _text(c.title)
    if url:
        title = f'<a class="qa-link" href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    meta = " · ".join(_text(x) for x in (c.date, byline(c.author), c.source, page_label(c.page), f"passage {c.passage_number}") if x)
    first = min(spans) if spans else (None, None)
    show = show_link(c.article_id, c.passage_start, c.passage_end, *first)
    return f'<b class="qa-title">{title}</b> <span class="qa-meta">{meta} · {show}</span>'


def _marked(c: Source, spans: list[tuple[int, int]]) -> str:
    """The passage, escaped, with each answer span (article offsets) marked."""
    out, at = [], 0
    for start, end in sorted(spans):
        s, e = start - c.passage_start, end - c.passage_start
        if s < at:  # overlapping marks: keep the first
            continue
        out += [_text(c.passage[at:s]), "<mark>", _text(c.passage[s:e]), "</mark>"]
        at = e
    return "".join(out) + _text(c.passage[at:])


def cited(answer: Answer) -> list[tuple[Source, list[tuple[int, int]]]]:
    """What a reply lists, one entry per passage: the citations of an answer with their answer spans
    (an answer found twice in one passage is one entry with two marks), or the closest passages."""
    if not answer.found:
        return [(c, []) for c in answer.sources[:3]]
    entries: dict[tuple[str, int], tuple[Source, list[tuple[int, int]]]] = {}
    for c in answer.citations:
        c0, spans = entries.setdefault((c.article_id, c.passage_start), (c, []))
        spans.append((c.answer_start, c.answer_end))
    return list(entries.values())


def _one_line(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def evidence_source(answer: Answer) -> Source | None:
    """The citation the evidence sentence is read from (the first), or None when there is no sentence."""
    return answer.citations[0] if answer.evidence is not None and answer.citations else None


def _source_line(c: Source, with_url: bool = True) -> str:
    """Title, date, byline and the URL (else the file), as plain text."""
    where = (safe_url(c.url) or c.source) if with_url else ""
    return ", ".join(x for x in (c.title, c.date, byline(c.author), where, page_label(c.page)) if x)


def plain_text(answer: Answer) -> str:
    """The reply as plain text (what the copy button gives): the answer, the sentence that states it in
    quotes and its source (title, date, author, URL), then 'Sources:' one line per article."""
    lines = [answer.line()]
    ev, src = answer.evidence, evidence_source(answer)
    if ev is not None and src is not None:
        lines.append(f"“{_one_line(ev.text).strip()}”")
        lines.append(f"— {_source_line(src)}")
    for o in answer.over_time[1:]:
        lines.append(f"Earlier: {o['answer']} ({o['date']}, {o['title']})")
    newer = newer_note(answer)
    if newer:
        lines.append(newer)
    articles = list({c.article_id: c for c, _ in reversed(cited(answer))}.values())[::-1]  # one line per article
    if articles:
        lines += ["", "Sources:" if answer.found else "Closest passages:"]
        for n, c in enumerate(articles, 1):
            lines.append(f"{n}. {_source_line(c)}")
    return "\n".join(lines)


def _evidence(answer: Answer) -> str:
    """The sentence that states the answer (escaped, the answer marked) and its source line."""
    ev, src = answer.evidence, evidence_source(answer)
    if ev is None or src is None:
        return ""
    t, s, e = ev.text, ev.answer_start, ev.answer_end
    said = (_text(_one_line(t[:s]).lstrip()) + f"<mark>{_text(_one_line(t[s:e]))}</mark>"
            + _text(_one_line(t[e:]).rstrip()))
    meta = " · ".join(_text(x) for x in (src.title, src.date, byline(src.author), page_label(src.page)) if x)
    show = show_link(src.article_id, ev.start, ev.end, ev.start + s, ev.start + e)
    return (f'<blockquote class="qa-evidence"><p class="qa-said">“{said}”</p>'
            f'<p class="qa-meta qa-evidence-source">— {meta} · {show}</p></blockquote>')


def render(answer: Answer) -> str:
    """The chat reply for an answer, as one escaped HTML block.

    Args:
        answer: The engine's answer.

    Returns:
        HTML: the answer (and the date it means), the sentence that states it with its source,
        notes on dates, confidence, then the sources in a collapsed ``<details>``, and the
        plain-text reply for the copy button.
    """
    parts = ['<div class="qa-answer">']
    if answer.found:
        date = f' <span class="qa-date">— {_text(describe(answer.answer_date))}</span>' if answer.answer_date else ""
        parts.append(f'<p><b class="qa-text">{_text(answer.answer)}</b>{date}</p>')
        parts.append(_evidence(answer))
        if len(answer.over_time) > 1:
            said = "; ".join(f"<b>{_text(o['answer'])}</b> ({_text(o['date'])})" for o in answer.over_time)
            parts.append(f'<p class="qa-meta qa-over-time">The articles differ over time, newest first: {said}.</p>')
        newer = newer_note(answer)
        if newer:
            parts.append(f'<p class="qa-meta qa-newer">{_text(newer)}</p>')
        parts.append(f'<p class="qa-meta qa-confidence">Confidence {answer.confidence:.0%}</p>')
    else:
        parts.append(f'<p><b class="qa-text">{NO_ANSWER}</b></p>')
        note = declined_note(answer)
        if note:
            parts.append(f'<p class="qa-meta qa-declined">{_text(note)}</p>')
    if answer.period:
        parts.append(f'<p class="qa-meta qa-period">Articles from {_text(describe(answer.period))} first, as the question asks.</p>')
    if answer.resolved_question != answer.question:
        parts.append(f'<p class="qa-meta qa-read-as">Read as: “{_text(answer.resolved_question)}”</p>')
    sources = cited(answer)
    if sources:
        label = "Sources" if answer.found else "Closest passages"
        top = sources[0][0]
        first = _text(top.title) + (f" ({_text(top.date)})" if top.date else "")
        others = len({c.article_id for c, _ in sources} - {top.article_id})  # articles, not passages
        more = f" and {others} more article{'s' if others != 1 else ''}" if others else ""
        parts.append(f'<details class="qa-sources"><summary>{label}: {first}{more}</summary><ol>')
        for c, spans in sources:
            parts.append(f'<li class="qa-cite">{_cite_head(c, spans)}<div class="qa-passage">{_marked(c, spans)}</div></li>')
        parts.append("</ol></details>")
    # Line breaks as character references: a blank line would end the HTML block for Markdown.
    parts.append(f'<div class="qa-plain">{html.escape(plain_text(answer)).replace(chr(10), "&#10;")}</div>')
    parts.append("</div>")
    return "".join(parts)


def render_article(article: dict | None, mark: tuple[int, int] | None = None, answer: tuple[int, int] | None = None) -> str:
    """An article for the page's article viewer (escaped; linked only to an http(s) URL).

    Args:
        article: The article (``title``, ``text``, ``date``, ``source``, ``url``, ``author``), or None.
        mark: A range of the text to mark (the cited passage or sentence; offsets in ``text``):
            wrapped in ``<span class="qa-cited" id="qa-cited">``, which the page scrolls to.
        answer: The answer's range, marked inside ``mark``.
    """
    if not article:
        return '<p class="qa-meta qa-gone">That article is no longer in the index.</p>'
    url = safe_url(article.get("url", ""))
    link = (f' · <a class="qa-link" href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">open the original</a>'
            if url else "")
    meta = " · ".join(_text(x) for x in (article.get("date", ""), byline(article.get("author", "")), article.get("source", "")) if x)
    text = article["text"]
    paged = is_paged(article.get("source", ""))

    def shown(a: int, b: int) -> str:  # a PDF's page marks shown as its pages
        return _paged(text, a, b) if paged else _text(text[a:b])

    body = shown(0, len(text))
    if mark is not None and 0 <= mark[0] < mark[1] <= len(text):
        s, e = mark
        a0, a1 = answer if answer is not None and s <= answer[0] < answer[1] <= e else (e, e)
        body = (shown(0, s) + '<span class="qa-cited" id="qa-cited">' + shown(s, a0)
                + (f"<mark>{shown(a0, a1)}</mark>" if a1 > a0 else "") + shown(a1, e) + "</span>" + shown(e, len(text)))
    if paged:
        body = '<span class="qa-page" role="separator">p. 1</span>' + body
    # tabindex: the text scrolls, so a keyboard must be able to reach it
    return (f'<div class="qa-article"><h2>{_text(article["title"])}</h2><p class="qa-meta">{meta}{link}</p>'
            f'<div class="qa-article-text" tabindex="0" role="region" aria-label="Article text">{body}</div></div>')
