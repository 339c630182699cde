"""The chat reply: HTML (answer first, sources collapsible below it) and the same reply as plain text.

Every piece of article text and every question is HTML-escaped before it is put
into the reply, so markup inside an article shows as text and never runs. Links are
made only from http(s) URLs. The reply is one HTML block with no blank lines, so
Markdown does not reinterpret it. The renderer works from the :class:`Answer` alone:
the full article is fetched on demand by the page, never embedded in a reply.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit

from qa.engine import Answer, Citation
from qa.news import describe

NO_ANSWER = "I could not find an answer in the articles."


def _text(s: str) -> str:
    """Escape text for HTML and keep paragraph breaks without blank lines."""
    return html.escape(s, quote=True).replace("\r", "").replace("\n\n", "<br><br>").replace("\n", "<br>")


def safe_url(url: str) -> str | None:
    """The URL if it is an absolute http(s) URL (never ``javascript:`` or ``data:``), else None."""
    url = (url or "").strip()
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc and not re.search(r"\s", url) else None


def answer_line(answer: Answer) -> str:
    """The answer as one line of text, with the calendar date a relative answer means ("Monday — 4 July 2011")."""
    if not answer.found:
        return NO_ANSWER
    return f"{answer.answer} — {describe(answer.answer_date)}" if answer.answer_date else answer.answer


def _cite_head(c: Citation) -> str:
    url = safe_url(c.url)
    title = _text(c.title)
    if url:
        title = f'<a class="qa-link" href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    meta = " · ".join(_text(x) for x in (c.date, c.source, f"passage {c.passage_number}") if x)
    # The page's script reads the id from the fragment (the chat's sanitizer drops data-* attributes).
    show = f'<a class="qa-show" href="#article={html.escape(quote(c.article_id, safe=""), quote=True)}">show article</a>'
    return f'<b class="qa-title">{title}</b> <span class="qa-meta">{meta} · {show}</span>'


def _marked(c: Citation, spans: list[tuple[int, int]]) -> str:
    """The passage, escaped, with each answer span (article offsets) marked."""
    out, at = [], 0
    for start, end in sorted(spans):
        s, e = start - c.passage_start, end - c.passage_start
        if s < at:  # overlapping marks: keep the first
            continue
        out += [_text(c.passage[at:s]), "<mark>", _text(c.passage[s:e]), "</mark>"]
        at = e
    return "".join(out) + _text(c.passage[at:])


def cited(answer: Answer) -> list[tuple[Citation, list[tuple[int, int]]]]:
    """What a reply lists, one entry per passage: the citations of an answer with their answer spans
    (an answer found twice in one passage is one entry with two marks), or the closest passages."""
    if not answer.found:
        return [(c, []) for c in answer.sources[:3]]
    entries: dict[tuple[str, int], tuple[Citation, list[tuple[int, int]]]] = {}
    for c in answer.citations:
        c0, spans = entries.setdefault((c.article_id, c.passage_start), (c, []))
        if c.answer_start is not None and c.answer_end is not None:
            spans.append((c.answer_start, c.answer_end))
    return list(entries.values())


def plain_text(answer: Answer) -> str:
    """The reply as plain text (what the copy button gives): the answer, then 'Sources:' one per line."""
    lines = [answer_line(answer)]
    for o in answer.over_time[1:]:
        lines.append(f"Earlier: {o['answer']} ({o['date']}, {o['title']})")
    articles = list({c.article_id: c for c, _ in reversed(cited(answer))}.values())[::-1]  # one line per article
    if articles:
        lines += ["", "Sources:" if answer.found else "Closest passages:"]
        for n, c in enumerate(articles, 1):
            lines.append(f"{n}. " + ", ".join(x for x in (c.title, c.date, safe_url(c.url) or c.source) if x))
    return "\n".join(lines)


def render(answer: Answer) -> str:
    """The chat reply for an answer, as one escaped HTML block.

    Args:
        answer: The engine's answer.

    Returns:
        HTML: the answer (and the date it means), notes on dates, confidence, then the
        sources in a collapsed ``<details>``, and the plain-text reply for the copy button.
    """
    parts = ['<div class="qa-answer">']
    if answer.found:
        date = f' <span class="qa-date">— {_text(describe(answer.answer_date))}</span>' if answer.answer_date else ""
        parts.append(f'<p><b class="qa-text">{_text(answer.answer)}</b>{date}</p>')
        if len(answer.over_time) > 1:
            said = "; ".join(f"<b>{_text(o['answer'])}</b> ({_text(o['date'])})" for o in answer.over_time)
            parts.append(f'<p class="qa-meta qa-over-time">The articles differ over time, newest first: {said}.</p>')
        parts.append(f'<p class="qa-meta">Confidence {answer.confidence:.0%}</p>')
    else:
        parts.append(f'<p><b class="qa-text">{NO_ANSWER}</b></p>')
    if answer.period:
        parts.append(f'<p class="qa-meta qa-period">Articles from {_text(describe(answer.period))} first, as the question asks.</p>')
    if answer.resolved_question != answer.question:
        parts.append(f'<p class="qa-meta">Read as: “{_text(answer.resolved_question)}”</p>')
    sources = cited(answer)
    if sources:
        label = "Sources" if answer.found else "Closest passages"
        top = sources[0][0]
        first = _text(top.title) + (f" ({_text(top.date)})" if top.date else "")
        more = f" and {len(sources) - 1} more" if len(sources) > 1 else ""
        parts.append(f'<details class="qa-sources"><summary>{label}: {first}{more}</summary><ol>')
        for c, spans in sources:
            parts.append(f'<li class="qa-cite">{_cite_head(c)}<div class="qa-passage">{_marked(c, spans)}</div></li>')
        parts.append("</ol></details>")
    # Line breaks as character references: a blank line would end the HTML block for Markdown.
    parts.append(f'<div class="qa-plain">{html.escape(plain_text(answer)).replace(chr(10), "&#10;")}</div>')
    parts.append("</div>")
    return "".join(parts)


def render_article(article: dict | None) -> str:
    """An article for the page's article viewer (escaped; linked only to an http(s) URL)."""
    if not article:
        return '<p class="qa-meta">That article is no longer in the index.</p>'
    url = safe_url(article.get("url", ""))
    link = (f' · <a class="qa-link" href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">open the original</a>'
            if url else "")
    meta = " · ".join(_text(x) for x in (article.get("date", ""), article.get("source", "")) if x)
    return (f'<div class="qa-article"><h3>{_text(article["title"])}</h3><p class="qa-meta">{meta}{link}</p>'
            f'<div class="qa-article-text">{_text(article["text"])}</div></div>')
