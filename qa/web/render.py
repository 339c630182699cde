"""The chat reply as HTML: answer, confidence and numbered, expandable citations.

Every piece of article text and every question is HTML-escaped before it is put
into the reply, so markup inside an article shows as text and never runs. The
reply is one HTML block with no blank lines, so Markdown does not reinterpret it.
"""

from __future__ import annotations

import html
import re

from qa.engine import Answer, Citation, Engine
from qa.followup import Turn

def _text(s: str) -> str:
    """Escape text for HTML and keep paragraph breaks without blank lines."""
    return html.escape(s, quote=True).replace("\r", "").replace("\n\n", "<br><br>").replace("\n", "<br>")


def _cite_head(n: int, c: Citation) -> str:
    date = f" · {_text(c.date)}" if c.date else ""
    return f'<b>[{n}] {_text(c.title)}</b><span class="qa-meta">{date} · {_text(c.source)}, passage {c.passage_number + 1}</span>'


def _marked(c: Citation) -> str:
    if c.answer_start is None:
        return _text(c.passage)
    s, e = c.answer_start - c.passage_start, c.answer_end - c.passage_start
    return _text(c.passage[:s]) + "<mark>" + _text(c.passage[s:e]) + "</mark>" + _text(c.passage[e:])


def render(answer: Answer, engine: Engine | None = None) -> str:
    """The chat reply for an answer, as one escaped HTML block."""
    attrs = f'data-question="{html.escape(answer.resolved_question)}" data-answer="{html.escape(answer.answer or "")}"'
    parts = [f'<div class="qa-answer" {attrs}>']
    if answer.found:
        parts.append(f'<p><b class="qa-text">{_text(answer.answer)}</b></p>')
        parts.append(f'<p class="qa-meta">Confidence {answer.confidence:.0%}</p>')
        cited = answer.citations
    else:
        parts.append('<p><b class="qa-text">I could not find an answer in the articles.</b></p>')
        parts.append('<p class="qa-meta">The closest passages:</p>')
        cited = answer.sources[:3]
    if answer.resolved_question != answer.question:
        parts.append(f'<p class="qa-meta">Read as: “{_text(answer.resolved_question)}”</p>')
    parts.append("<ol>")
    for n, c in enumerate(cited, 1):
        full = ""
        article = engine.article(c.article_id) if engine else None
        if article is not None:
            full = f"<details><summary>Full source: {_text(article.title)}</summary><div>{_text(article.text)}</div></details>"
        parts.append(f'<li>{_cite_head(n, c)}<div class="qa-passage">{_marked(c)}</div>{full}</li>')
    parts.append("</ol></div>")
    return "".join(parts)


_ATTR = re.compile(r'<div class="qa-answer" data-question="([^"]*)" data-answer="([^"]*)"')


def history_turns(history: list[dict]) -> list[Turn]:
    """Earlier turns from Gradio's message history (our own replies carry the resolved question and answer)."""
    turns = []
    for msg in history:
        if msg.get("role") != "assistant":
            continue
        content = msg.get("content")
        if isinstance(content, list):  # Gradio may hand back content as a list of parts
            content = " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
        m = _ATTR.search(str(content or ""))
        if m:
            turns.append(Turn(html.unescape(m.group(1)), html.unescape(m.group(2)) or None))
    return turns
