"""The Gradio app: the chat page (chat, article library, upload, article viewer) and its HTTP API."""

from __future__ import annotations

from qa.engine import Engine
from qa.followup import Turn
from qa.web.render import _text, history_turns, render_article
from qa.web.worker import ChatProcess, LocalChat

UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"]

CSS = """
.qa-answer mark { background: #ffe27a; color: inherit; padding: 0 2px; border-radius: 2px; }
.qa-answer .qa-meta, .qa-article .qa-meta { color: #666; font-size: 0.9em; }
.qa-answer .qa-text { font-size: 1.1em; }
.qa-answer ol { padding-left: 1.4em; margin-top: 4px; }
.qa-answer details.qa-sources summary { cursor: pointer; color: #444; }
.qa-answer .qa-passage { white-space: normal; margin: 2px 0 8px; }
.qa-answer .qa-plain, .qa-hidden { display: none !important; }
.qa-article-text { max-height: 420px; overflow-y: auto; }
"""

# Page script. Copy: Gradio's copy button copies a message's raw content (our reply's HTML);
# this gives the reply's plain-text twin instead (answer, then sources), or a question as shown.
# "show article": a link inside a reply cannot call Python, so it hands the article id to a
# hidden button whose event fetches the article into the viewer.
JS = """
() => {
  // A message's buttons follow its row: <div class="message-row">…</div><div class="message-buttons">…</div>
  const bubble = (button) => {
    let el = button.closest('.message-row');
    if (el) return el;
    el = button.closest('.message-buttons');
    for (el = el && el.previousElementSibling; el; el = el.previousElementSibling) {
      if (el.classList.contains('message-row')) return el;
    }
    return null;
  };
  document.addEventListener('click', (e) => {
    const t = e.target;
    if (!(t instanceof Element)) return;
    const show = t.closest('a.qa-show');
    if (show) {
      e.preventDefault();
      const frag = (show.getAttribute('href') || '').split('#article=')[1] || '';
      window.__qaArticle = decodeURIComponent(frag);
      document.querySelector('#qa-show-go')?.click();
      return;
    }
    const copy = t.closest('#qa-chat button[aria-label="Copy message"], #qa-chat button[title="Copy message"]');
    if (!copy) return;
    const row = bubble(copy);
    const plain = row && row.querySelector('.qa-plain');
    const message = row && (row.querySelector('.message, [data-testid="user"], [data-testid="bot"]') || row);
    const text = plain ? plain.textContent : (message ? message.innerText.trim() : null);
    if (text === null || !navigator.clipboard) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    navigator.clipboard.writeText(text);
  }, true);
}
"""


def _count(n: int) -> str:
    return f"{n} article{'s' if n != 1 else ''} indexed"


def filter_rows(rows: list[dict], query: str) -> list[dict]:
    """Articles whose title, date, source or URL contain every word of the query (case-insensitive)."""
    words = (query or "").lower().split()
    return [r for r in rows if all(w in " ".join((r["title"], r["date"], r["source"], r["url"])).lower() for w in words)]


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

    def article(article_id: str) -> dict | None:
        """One indexed article, text included (what "show article" shows).

        Args:
            article_id: The article's id, as in a citation's ``article_id``.
        """
        return backend.article(article_id)

    def articles() -> list[dict]:
        """The indexed articles (id, title, date, source, url), newest first."""
        return backend.articles()

    def add_question(message: str, history: list[dict]):
        if not (message or "").strip():  # nothing asked: no bubble, no reply
            return message, history, ""
        # The question is shown escaped: markup in it appears as typed.
        return "", history + [{"role": "user", "content": _text(message)}], message

    def add_answer(question: str, history: list[dict]):
        if not question.strip():
            return history
        return history + [{"role": "assistant", "content": chat(question, history[:-1])}]

    def table(rows: list[dict]) -> list[list[str]]:
        return [[r["title"], r["date"], r["source"]] for r in rows] or [["", "", ""]]

    def refresh(query: str):
        rows = backend.articles()
        shown = filter_rows(rows, query)
        return rows, shown, table(shown), _count(len(rows))

    def search_articles(rows: list[dict], query: str):
        shown = filter_rows(rows, query)
        return shown, table(shown)

    def show_row(shown: list[dict], evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if not isinstance(row, int) or not 0 <= row < len(shown):
            return gr.skip()
        return render_article(backend.article(shown[row]["id"]))

    show_row.__annotations__["evt"] = gr.SelectData  # Gradio reads the annotation; gradio is imported lazily here

    def add_files(files: list[str] | None, query: str, progress=gr.Progress()):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            return (gr.skip(),) * 4 + ("Choose one or more article files first.", None)
        added, notes = [], []
        for i, p in enumerate(paths):
            progress(i / len(paths), desc=f"Indexing {i + 1} of {len(paths)}")
            result = backend.add_files([p])
            added += result["added"]
            notes += result["warnings"]
        progress(1.0, desc="Done")
        rows, shown, tab, count = refresh(query)
        lines = [f"Added {len(added)} article{'s' if len(added) != 1 else ''}: " + ", ".join(added) if added else "Nothing was added."]
        lines += [f"- {n}" for n in notes]
        return rows, shown, tab, count, "\n".join(lines), None

    with gr.Blocks(title="qa: ask the articles") as demo:
        rows_state = gr.State([])
        shown_state = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                gr.Markdown("## Ask the articles\nAnswers are quoted from the articles, with their sources below; "
                            "when the articles do not hold an answer, you are told so.")
                chatbot = gr.Chatbot(height=560, sanitize_html=True, label="qa", elem_id="qa-chat", buttons=["copy"],
                                     placeholder="Ask a question about the articles.")
                pending = gr.State("")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question…", show_label=False, scale=8, elem_id="qa-question", autofocus=True)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
                    clear = gr.Button("New conversation", scale=1)
            with gr.Column(scale=2):
                count = gr.Markdown(_count(len(backend.article_ids())), elem_id="qa-count")
                search = gr.Textbox(placeholder="Filter articles by title, date or source", show_label=False, elem_id="qa-article-search")
                listing = gr.Dataframe(headers=["Title", "Date", "Source"], value=[["", "", ""]], interactive=False,
                                       wrap=True, max_height=300, column_widths=["52%", "22%", "26%"], elem_id="qa-articles", label="Articles (newest first)")
                with gr.Accordion("Add articles", open=False, elem_id="qa-add-panel"):
                    upload = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label=".txt .md .html .json .jsonl",
                                     elem_id="qa-upload")
                    add = gr.Button("Add to the index", elem_id="qa-add")
                    status = gr.Markdown(elem_id="qa-add-status")
                viewer = gr.HTML(elem_id="qa-article-view", padding=True)
                show_id = gr.Textbox(elem_classes=["qa-hidden"], show_label=False)
                show_go = gr.Button(elem_id="qa-show-go", elem_classes=["qa-hidden"])
        for trigger in (box.submit, send.click):
            trigger(add_question, [box, chatbot], [box, chatbot, pending], queue=False, api_visibility="private").then(
                add_answer, [pending, chatbot], chatbot, api_visibility="private"
            )
        clear.click(lambda: [], None, chatbot, queue=False, api_visibility="private")
        demo.load(refresh, search, [rows_state, shown_state, listing, count], api_visibility="private")
        search.change(search_articles, [rows_state, search], [shown_state, listing], queue=False, api_visibility="private")
        listing.select(show_row, shown_state, viewer, api_visibility="private")
        add.click(add_files, [upload, search], [rows_state, shown_state, listing, count, status, upload], api_visibility="private")
        show_go.click(lambda i: render_article(backend.article(i)), show_id, viewer, js="() => window.__qaArticle || ''",
                      api_visibility="private")
        gr.api(chat, api_name="chat")
        gr.api(ask, api_name="ask")
        gr.api(article, api_name="article")
        gr.api(articles, api_name="articles")
    return demo


def launch(chat_backend: LocalChat | ChatProcess | Engine, host: str = "127.0.0.1", port: int = 7860, **kwargs):
    """Serve the chat (blocks until stopped unless ``prevent_thread_lock=True``).

    Returns:
        The running Gradio app (``.close()`` stops it).
    """
    import gradio as gr

    demo = build_app(chat_backend)
    demo.launch(server_name=host, server_port=port, css=CSS, js=JS, theme=gr.themes.Soft(), footer_links=["api"], **kwargs)
    return demo
