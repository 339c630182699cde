"""The Gradio app: the chat page and its HTTP API (``/chat``, ``/ask``)."""

from __future__ import annotations

from qa.engine import Engine
from qa.followup import Turn
from qa.web.render import _text, history_turns
from qa.web.worker import ChatProcess, LocalChat, Pending, as_chat_error

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


def _reply_when_ready(pending: Pending, poll_s: float = 0.5):
    """Yield "waiting: N questions ahead" while ``pending`` is in line, then its reply (or its failure, in words)."""
    shown = 0
    while True:
        try:
            yield pending.result(timeout=poll_s)
            return
        except TimeoutError:
            ahead = pending.ahead()
            if ahead != shown:
                shown = ahead
                yield (f'<p class="qa-waiting">waiting: {ahead} question{"s" if ahead != 1 else ""} ahead</p>' if ahead
                       else '<p class="qa-waiting">answering…</p>')
        except ValueError as e:  # ChatError or a refusal: its message, escaped
            yield f"<p>{_text(str(e))}</p>"
            return


def build_app(chat_backend: LocalChat | ChatProcess | Engine):
    """The Gradio app over an engine (opened and warmed up by the caller) or a :class:`ChatProcess`."""
    import gradio as gr

    backend = LocalChat(chat_backend) if isinstance(chat_backend, Engine) else chat_backend

    def replies(message: str, history: list[dict]):
        """The reply's HTML, after "waiting: N questions ahead" notes while the question is in line.

        The engine answers one question at a time; a note says so rather than a silent wait.
        Any failure is a message in the reply, never a bare "Error".
        """
        question = (message or "").strip()
        if not question:
            yield "<p>Please type a question.</p>"
            return
        if len(question) > 1000:
            yield "<p>That question is too long; please keep it under 1,000 characters.</p>"
            return
        try:
            turns = history_turns(history or [])[-backend.config.max_history_turns:]
            pending = backend.start("reply", question, turns)
        except Exception as e:  # e.g. a malformed history sent to /chat: a message, not a bare "Error"
            yield f"<p>{_text(str(as_chat_error(e)))}</p>"
            return
        yield from _reply_when_ready(pending)

    def chat(message: str, history: list[dict]) -> str:
        """Answer a chat message; returns the reply as HTML (answer, confidence, citations).

        Args:
            message: The question.
            history: Earlier messages as {"role", "content"} dicts (for follow-up questions).
        """
        *_, html = replies(message, history)
        return html

    def ask(question: str, history: list[str] | None = None) -> dict:
        """Answer a question; returns the answer, confidence and citations as JSON.

        Args:
            question: The question.
            history: Earlier questions of the conversation, oldest first (for follow-ups).
        """
        try:
            turns: list[Turn] = []
            for q in (history or [])[-backend.config.max_history_turns:]:
                earlier = backend.answer(q, turns)
                turns.append(Turn(earlier["resolved_question"], earlier["answer"]))
            return backend.answer(question, turns)
        except Exception as e:  # a refusal or a failure: the client gets the message, not {"error": null}
            raise gr.Error(str(as_chat_error(e)), print_exception=False) from None

    def add_question(message: str, history: list[dict]):
        # The question is shown escaped: markup in it appears as typed.
        return "", history + [{"role": "user", "content": _text(message or "")}], message

    def add_answer(question: str, history: list[dict]):
        for html in replies(question, history[:-1]):
            yield history + [{"role": "assistant", "content": html}]

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
                # No Gradio limit here: the engine keeps the line, so the reply can say how long it is.
                add_answer, [pending, chatbot], chatbot, api_visibility="private", concurrency_limit=None
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
    config = chat_backend.config
    # max_file_size: Gradio's upload route is open to anyone who reaches the server, with no limit of its own.
    demo.launch(server_name=host, server_port=port, css=CSS, theme=gr.themes.Soft(), footer_links=["api"],
                max_file_size=config.max_upload_bytes, **kwargs)
    return demo
