"""The Gradio app: the chat page and its HTTP API (``/chat``, ``/ask``)."""

from __future__ import annotations

from qa.engine import Engine
from qa.followup import Turn
from qa.web.render import _text, history_turns
from qa.web.worker import ChatProcess, LocalChat

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
        with gr.Row():
            box = gr.Textbox(placeholder="Ask a question…", show_label=False, scale=8, elem_id="qa-question", autofocus=True)
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
            clear = gr.Button("New conversation", scale=1)
        if SEED_ARTICLE in ids:
            gr.Examples(EXAMPLES, inputs=box, label="Example questions")
        for trigger in (box.submit, send.click):
            trigger(add_question, [box, chatbot], [box, chatbot, pending], queue=False, api_visibility="private").then(
                add_answer, [pending, chatbot], chatbot, api_visibility="private"
            ).then(current_header, None, heading, queue=False, api_visibility="private")
        demo.load(current_header, None, heading, queue=False, api_visibility="private")
        clear.click(lambda: [], None, chatbot, queue=False, api_visibility="private")
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
    demo.launch(server_name=host, server_port=port, css=CSS, theme=gr.themes.Soft(), footer_links=["api"], **kwargs)
    return demo
