"""The Gradio app: the chat page and its HTTP API (``/chat``, ``/ask``)."""

from __future__ import annotations

from qa.engine import Engine
from qa.web.render import _text
from qa.web.worker import ChatProcess, LocalChat, Pending, as_chat_error, earlier_turns

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


def _waiting_notes(pending: Pending, poll_s: float = 0.5):
    """Yield ``(note, None)`` while ``pending`` is in line ("waiting: N questions ahead"); return its result.

    The engine answers one question at a time; a note says so rather than a silent wait.

    Raises:
        ChatError: The question could not be answered (the message says why).
    """
    shown = 0
    while True:
        try:
            return pending.result(timeout=poll_s)
        except TimeoutError:
            ahead = pending.ahead()
            if ahead != shown:
                shown = ahead
                yield (f'<p class="qa-waiting">waiting: {ahead} question{"s" if ahead != 1 else ""} ahead</p>' if ahead
                       else '<p class="qa-waiting">answering…</p>'), None


def build_app(chat_backend: LocalChat | ChatProcess | Engine):
    """The Gradio app over an engine (opened and warmed up by the caller) or a :class:`ChatProcess`."""
    import gradio as gr

    backend = LocalChat(chat_backend) if isinstance(chat_backend, Engine) else chat_backend

    def turns_of(history: list | None):
        # Only the latest turns matter to a follow-up; a client may send the whole conversation.
        return earlier_turns(history)[-backend.config.max_history_turns:]

    def exchanges(question: str, history: list[dict] | None):
        """Yield ``(html, None)`` notes while the question waits, then the reply's HTML and the turn to remember.

        Any failure is a message in the reply (turn None), never a bare "Error".
        """
        question = (question or "").strip()
        if not question:
            yield "<p>Please type a question.</p>", None
            return
        try:
            reply = yield from _waiting_notes(backend.start("exchange", question, turns_of(history)))
        except Exception as e:  # too long, a malformed history, a failure: said plainly, nothing lost
            yield f"<p>{_text(str(as_chat_error(e)))}</p>", None
            return
        yield reply

    def exchange(question: str, history: list[dict] | None) -> tuple[str, dict | None]:
        """The reply's HTML and the turn to remember (None when nothing was answered)."""
        *_, last = exchanges(question, history)
        return last

    def chat(message: str, history: list[dict] | None = None) -> str:
        """Answer a chat message; returns the reply as HTML (answer, confidence, citations).

        Args:
            message: The question.
            history: Earlier turns of the conversation, oldest first, for follow-up questions: each a
                dict with ``question`` and ``answer`` (the dicts ``/ask`` returns will do). Not answered again.
        """
        return exchange(message, history)[0]

    def ask(question: str, history: list[dict] | None = None) -> dict:
        """Answer a question; returns the answer, confidence and citations as JSON.

        Args:
            question: The question.
            history: Earlier turns of the conversation, oldest first, for follow-up questions: each a
                dict with ``question`` and ``answer`` (the dicts ``/ask`` returned will do; their
                ``resolved_question`` is used when present). Not answered again.
        """
        import gradio as gr

        try:
            return backend.answer((question or "").strip(), turns_of(history))
        except Exception as e:  # too long, empty, a malformed history, a failure: the message, not {"error": null}
            raise gr.Error(str(as_chat_error(e)), print_exception=False) from None

    def add_question(message: str, history: list[dict]):
        # The question is shown escaped: markup in it appears as typed.
        return "", history + [{"role": "user", "content": _text(message or "")}], message

    def add_answer(question: str, history: list[dict], turns: list[dict]):
        # The conversation is kept as data (earlier questions and answers), never read back from the replies.
        for html, turn in exchanges(question, turns):
            yield history + [{"role": "assistant", "content": html}], turns + [turn] if turn else turns

    ids = set(backend.article_ids())

    def header(count: int) -> str:
        return (f"## Ask the articles\n{count} article{'s' if count != 1 else ''} indexed. Answers are quoted "
                "from the articles with numbered citations; when the articles do not hold an answer, you are told so.")

    def current_header():
        # The index can change while the chat runs (qa index, qa serve --watch): count what it holds now.
        try:
            return header(backend.stats()["articles"])
        except Exception:  # the count is a nicety; the question path reports real failures
            return gr.skip()

    with gr.Blocks(title="qa: ask the articles") as demo:
        heading = gr.Markdown(header(len(ids)), elem_id="qa-heading")
        chatbot = gr.Chatbot(height=560, sanitize_html=True, label="qa", elem_id="qa-chat",
                             placeholder="Ask a question about the articles.")
        pending = gr.State("")
        turns = gr.State([])  # earlier turns as {question, resolved_question, answer} dicts
        with gr.Row():
            box = gr.Textbox(placeholder="Ask a question…", show_label=False, scale=8, elem_id="qa-question", autofocus=True)
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
            clear = gr.Button("New conversation", scale=1)
        if SEED_ARTICLE in ids:
            gr.Examples(EXAMPLES, inputs=box, label="Example questions")
        for trigger in (box.submit, send.click):
            trigger(add_question, [box, chatbot], [box, chatbot, pending], queue=False, api_visibility="private").then(
                # No Gradio limit here: the engine keeps the line, so the reply can say how long it is.
                add_answer, [pending, chatbot, turns], [chatbot, turns], api_visibility="private", concurrency_limit=None
            ).then(current_header, None, heading, queue=False, api_visibility="private")
        demo.load(current_header, None, heading, queue=False, api_visibility="private")
        clear.click(lambda: ([], []), None, [chatbot, turns], queue=False, api_visibility="private")
        gr.api(chat, api_name="chat")
        gr.api(ask, api_name="ask")

        def stats() -> dict:
            """What the index holds now: articles, passages and a version that changes with every update."""
            return backend.stats()

        gr.api(stats, api_name="stats")
    return demo


def launch(chat_backend: LocalChat | ChatProcess | Engine, host: str = "127.0.0.1", port: int = 7860, **kwargs):
    """Serve the chat (blocks until stopped unless ``prevent_thread_lock=True``).

    Returns:
        The running Gradio app (``.close()`` stops it).
    """
    import gradio as gr

    demo = build_app(chat_backend)
    # max_file_size: Gradio's upload route is open to anyone who reaches the server, with no limit of its own.
    demo.launch(server_name=host, server_port=port, css=CSS, theme=gr.themes.Soft(), footer_links=["api"],
                max_file_size=chat_backend.config.max_upload_bytes, **kwargs)
    return demo
