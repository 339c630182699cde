"""The web chat (Gradio): answers with confidence and numbered, expandable citations.

Every piece of article text and every question is HTML-escaped before it is put
into the reply, so markup inside an article shows as text and never runs. The
reply is one HTML block with no blank lines, so Markdown does not reinterpret it.
"""

from __future__ import annotations

import html
import os
import re
import signal
import threading

from qa.config import Config
from qa.engine import Answer, Citation, Engine
from qa.followup import Turn

EXAMPLES = [
    "Who is the NATO Secretary-General?",
    "In which Russian city did Rasmussen meet Medvedev?",
    "Who is Russia's foreign minister?",
    "Who heads the TNC?",
    "Which TV channel did Saif al-Islam Gadhafi talk to?",
]
SEED_ARTICLE = "russia-nato-clash-over-libya-campaign.txt"

CSS = """
.qa-answer mark { background: #ffe27a; color: inherit; padding: 0 2px; border-radius: 2px; }
.qa-answer .qa-meta { color: #666; font-size: 0.9em; }
.qa-answer ol { padding-left: 1.4em; }
.qa-answer details { margin-top: 4px; }
.qa-answer .qa-passage { white-space: normal; }
"""


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
        article = engine.store.article(c.article_id) if engine else None
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


class LocalChat:
    """The chat's view of an engine in this process (for Python users and tests).

    Args:
        engine: An opened engine.
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    def article_ids(self) -> list[str]:
        """Ids of the indexed articles."""
        return [a.id for a in self.engine.store.articles()]

    def reply(self, question: str, turns: list[Turn]) -> str:
        """The answer as the chat's HTML."""
        return render(self.engine.ask(question, turns), self.engine)

    def answer(self, question: str, turns: list[Turn]) -> dict:
        """The answer as JSON-ready data."""
        return self.engine.ask(question, turns).to_dict()


_WORKER: dict = {}


def _worker_start(config: Config) -> None:
    # Ctrl-C is the parent's to handle; a parent killed outright must not leave this process behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            threading.Event().wait(1.0)

    threading.Thread(target=watch, daemon=True).start()
    try:
        engine = Engine(config)
        engine.open()
        engine.warm_up()
        _WORKER["chat"] = LocalChat(engine)
    except Exception as e:  # reported to the parent on its first call, message intact
        _WORKER["error"] = e


def _worker_call(method: str, *args):
    if "error" in _WORKER:
        raise _WORKER["error"]
    return getattr(_WORKER["chat"], method)(*args)


def _manifest_article_ids(index_dir: str) -> list[str] | None:
    from pathlib import Path

    from qa.store import Manifest, current_generation

    gen = current_generation(Path(index_dir))
    try:
        return list(Manifest.read(gen / "manifest.json").articles) if gen else None
    except (OSError, ValueError, TypeError, KeyError):
        return None  # the child's own check reports what is wrong


class ChatProcess:
    """The engine in a child process, with the same methods as :class:`LocalChat`.

    ``qa serve`` uses it so that the models load on one core while the web server
    (Gradio) imports on the other: on a 2-core laptop the first answer comes seconds
    sooner. Questions are answered one at a time, in order.

    Args:
        config: Settings for the engine; the index must exist.
    """

    def __init__(self, config: Config):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent may already run torch threads (after indexing) or Gradio's.
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_worker_start, initargs=(config,))
        self._ready = self._pool.submit(_worker_call, "article_ids")
        self._ids = _manifest_article_ids(config.index_dir)

    def wait(self) -> None:
        """Wait until the engine is loaded. Raises what loading raised (e.g. a damaged index)."""
        self._ready.result()

    def article_ids(self) -> list[str]:
        """Ids of the indexed articles: read from the manifest, so the page can be served before the models load."""
        return self._ids if self._ids is not None else self._ready.result()

    def reply(self, question: str, turns: list[Turn]) -> str:
        return self._pool.submit(_worker_call, "reply", question, turns).result()

    def answer(self, question: str, turns: list[Turn]) -> dict:
        return self._pool.submit(_worker_call, "answer", question, turns).result()

    def close(self) -> None:
        """Stop the child process, at once, even while it is still loading the models."""
        # Ending the worker first lets shutdown wait without delay. A shutdown that does not
        # wait leaves the pool's manager thread racing the interpreter's exit hook, which on
        # Python 3.11 sometimes prints an "OSError: Bad file descriptor" traceback at exit.
        for proc in list((getattr(self._pool, "_processes", None) or {}).values()):
            proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)


def build_app(chat_backend: LocalChat | ChatProcess | Engine):
    """The Gradio app over an engine (opened and warmed up by the caller) or a :class:`ChatProcess`."""
    import gradio as gr

    backend = LocalChat(chat_backend) if isinstance(chat_backend, Engine) else chat_backend

    def chat(message: str, history: list[dict]) -> str:
        """Answer a chat message; returns the reply as HTML (answer, confidence, citations).

        Args:
            message: The question.
            history: Earlier messages as {"role", "content"} dicts (for follow-up questions).
        """
        question = (message or "").strip()
        if not question:
            return "<p>Please type a question.</p>"
        if len(question) > 1000:
            return "<p>That question is too long; please keep it under 1,000 characters.</p>"
        return backend.reply(question, history_turns(history or []))

    def ask(question: str, history: list[str] | None = None) -> dict:
        """Answer a question; returns the answer, confidence and citations as JSON.

        Args:
            question: The question.
            history: Earlier questions of the conversation, oldest first (for follow-ups).
        """
        turns: list[Turn] = []
        for q in history or []:
            earlier = backend.answer(q, turns)
            turns.append(Turn(earlier["resolved_question"], earlier["answer"]))
        return backend.answer(question, turns)

    def add_question(message: str, history: list[dict]):
        # The question is shown escaped: markup in it appears as typed.
        return "", history + [{"role": "user", "content": _text(message or "")}], message

    def add_answer(question: str, history: list[dict]):
        return history + [{"role": "assistant", "content": chat(question, history[:-1])}]

    ids = set(backend.article_ids())
    with gr.Blocks(title="qa: ask the articles") as demo:
        gr.Markdown(
            f"## Ask the articles\n{len(ids)} article{'s' if len(ids) != 1 else ''} indexed. Answers are quoted "
            "from the articles with numbered citations; when the articles do not hold an answer, you are told so."
        )
        chatbot = gr.Chatbot(height=560, sanitize_html=True, label="qa", elem_id="qa-chat",
                             placeholder="Ask a question about the articles.")
        pending = gr.State("")
        with gr.Row():
            box = gr.Textbox(placeholder="Ask a question…", show_label=False, scale=8, elem_id="qa-question", autofocus=True)
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
            clear = gr.Button("New conversation", scale=1)
        if SEED_ARTICLE in ids:
            gr.Examples(EXAMPLES, inputs=box, label="Example questions")
        for trigger in (box.submit, send.click):
            trigger(add_question, [box, chatbot], [box, chatbot, pending], queue=False, api_visibility="private").then(
                add_answer, [pending, chatbot], chatbot, api_visibility="private"
            )
        clear.click(lambda: [], None, chatbot, queue=False, api_visibility="private")
        gr.api(chat, api_name="chat")
        gr.api(ask, api_name="ask")
    return demo


def launch(chat_backend: LocalChat | ChatProcess | Engine, host: str = "127.0.0.1", port: int = 7860, **kwargs):
    """Serve the chat (blocks until stopped unless ``prevent_thread_lock=True``).

    Returns:
        The running Gradio app (``.close()`` stops it).
    """
    import gradio as gr

    demo = build_app(chat_backend)
    demo.launch(server_name=host, server_port=port, css=CSS, theme=gr.themes.Soft(), footer_links=["api"], **kwargs)
    return demo
