"""The Gradio app: the chat page (chat, article library, upload, article viewer) and its HTTP API."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable

from qa import audit
from qa.engine import Engine
from qa.web import library
from qa.web.access import Access, Limits, LimitsMiddleware
from qa.web.render import _text, parse_show, render_article
from qa.web.worker import ChatProcess, LocalChat, Pending, as_chat_error, earlier_turns

# Seconds between an open page's checks that the index changed (its article panel follows). Each
# check is a call that counts against the user's max_requests_per_minute: 6 a minute per open page.
PANEL_POLL_S = 10.0
# Articles the panel lists at most: an archive of a million is filtered in the index, never sent whole to a page.
PANEL_ROWS = 200

UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".pdf", ".docx"]

CSS = """
.qa-answer mark, .qa-article mark { background: #ffe27a; color: #1a1a1a; padding: 0 2px; border-radius: 2px; }
/* Contrast (WCAG AA, 4.5:1, checked with axe-core): Gradio shows chat messages at 80% opacity,
   which took the grey lines below 4.5:1; ours are shown whole, and the grey is darker. */
#qa-chat .prose.chatbot.md { opacity: 1; }
.qa-answer .qa-meta, .qa-article .qa-meta { color: #555; font-size: 0.9em; }
.dark .qa-answer .qa-meta, .dark .qa-article .qa-meta { color: #c8c8c8; }
.qa-answer .qa-text { font-size: 1.1em; }
.qa-answer blockquote.qa-evidence { margin: 2px 0 8px; padding: 0 0 0 10px; border-left: 3px solid #a5b4fc; font-style: normal; }
.qa-answer blockquote.qa-evidence p { margin: 2px 0; }
.qa-answer ol { padding-left: 1.4em; margin-top: 4px; }
.qa-answer details.qa-sources summary { cursor: pointer; color: #333; }
.dark .qa-answer details.qa-sources summary { color: #ddd; }
.qa-answer .qa-passage { white-space: normal; margin: 2px 0 8px; }
.qa-answer .qa-plain, .qa-hidden { display: none !important; }
.qa-article-text { max-height: 420px; overflow-y: auto; }
.qa-article h2 { font-size: 1.25em; margin: 0 0 4px; }
.qa-article .qa-cited { background: #fff4c2; color: #1a1a1a; }
/* A PDF's pages in the viewer: "p. 2" where page 2 begins. */
.qa-article .qa-page { display: block; margin: 8px 0 2px; border-top: 1px solid #ccc; color: #555; font-size: 0.85em; }
.dark .qa-article .qa-page { color: #c8c8c8; border-color: #666; }
/* The chat's label ("qa") takes a line of its own above the messages: floating over them, it
   covered the first line of a scrolled answer. */
#qa-chat label[data-testid="block-label"] { position: static; margin: var(--block-label-margin); flex: none; }
#qa-chat .bubble-wrap { flex: 1 1 auto; height: auto; min-height: 0; padding-top: var(--spacing-md); }
#qa-articles-none { padding: 4px 8px; }
"""


def theme():
    """Gradio's Soft theme with colours that reach 4.5:1 (its Ask button was 4.46:1, its labels 3.6:1)."""
    import gradio as gr

    return gr.themes.Soft().set(
        button_primary_background_fill="*primary_600", button_primary_background_fill_hover="*primary_700",
        block_label_text_color="*primary_700", block_title_text_color="*primary_700",
        body_text_color_subdued="*neutral_600",
    )


# Page script. Copy: Gradio's copy button copies a message's raw content (our reply's HTML);
# this gives the reply's plain-text twin instead (answer, then sources), or a question as shown.
# "show article": a link inside a reply cannot call Python, so it hands its fragment (article id
# and the range to mark) to a hidden button whose event fetches the article into the viewer; once
# the article is there, the page scrolls to it and to the marked range (on a phone the viewer is
# below the chat). The upload zone's name is made to contain the words it shows.
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
  let shownLink = null, asked = false;  // the "show article" link the viewer shows; one was clicked
  document.addEventListener('click', (e) => {
    const t = e.target;
    if (!(t instanceof Element)) return;
    const show = t.closest('a.qa-show');
    if (show) {
      e.preventDefault();
      window.__qaArticle = (show.getAttribute('href') || '').split('#')[1] || '';
      if (window.__qaArticle === shownLink) requestAnimationFrame(showArticle);  // already there: nothing will change
      asked = true;
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
  const showArticle = () => {
    const view = document.querySelector('#qa-article-view');
    if (!view) return;
    view.scrollIntoView({block: 'start'});
    const cited = view.querySelector('#qa-cited');
    const box = cited && cited.closest('.qa-article-text');
    if (!box) return;
    box.scrollTop += cited.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    // The text's box may end below the screen (a long title on a phone): bring the range's start into view.
    const top = cited.getBoundingClientRect().top;
    if (top < 0 || top + 60 > window.innerHeight) window.scrollBy(0, top - 60);
  };
  const labelUpload = () => {
    for (const zone of document.querySelectorAll('#qa-upload button[aria-label]')) {
      const shown = zone.innerText.replace(/\\s+/g, ' ').trim();
      if (shown && !zone.getAttribute('aria-label').includes(shown)) {
        zone.setAttribute('aria-label', `${shown} (article files: .txt .md .html .json .jsonl .pdf .docx)`);
      }
    }
  };
  // The viewer's article changed (replaced, or its text updated in place): show it.
  const inViewer = (node) => {
    const el = node instanceof Element ? node : node.parentElement;
    return !!el && !!el.closest('#qa-article-view')
      && (!!el.closest('.qa-article, .qa-gone') || !!el.querySelector('.qa-article, .qa-gone'));
  };
  new MutationObserver((records) => {
    labelUpload();
    const changed = records.some((r) => r.type === 'characterData' ? inViewer(r.target) : Array.from(r.addedNodes).some(inViewer));
    if (!changed) return;
    shownLink = asked ? window.__qaArticle : null;  // a row of the panel shows an article too
    asked = false;
    requestAnimationFrame(showArticle);
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
  labelUpload();
}
"""


def panel_note(page: dict, query: str) -> str:
    """Said under the articles list: nothing matches, nothing is indexed, or only the newest are listed (never a blank row)."""
    shown, filtered = len(page["rows"]), bool((query or "").strip())
    if not shown:
        said = "No article matches “" + _text(query.strip()) + "”." if page["total"] else "No articles are indexed yet."
    elif page["matching"] > shown:
        said = (f"The newest {shown:,} of {page['matching']:,} {'matching ' if filtered else ''}articles are listed; "
                f"{'more words narrow' if filtered else 'the filter finds'} the others.")
    else:
        return ""
    return f'<p class="qa-none" role="status">{said}</p>'


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


def _who(request) -> str:
    """Whom a request counts against: the signed-in user, else the client's address."""
    name = getattr(request, "username", None)
    if name:
        return name
    client = getattr(request, "client", None)
    return f"address {getattr(client, 'host', '?')}"


def _remove_upload(path: str) -> None:
    """Delete a file Gradio stored for an upload (its own temporary folder only), and its folder when empty."""
    import gradio as gr

    root = os.path.realpath(gr.utils.get_upload_folder())
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root or real == root:
        return
    try:
        os.remove(real)
        os.rmdir(os.path.dirname(real))
    except OSError:
        pass  # already gone, or the folder holds other uploads


def build_app(chat_backend: LocalChat | ChatProcess | Engine, on_added: Callable[[list[str]], None] | None = None,
              access: Access | None = None, limits: Limits | None = None):
    """The Gradio app over an engine (opened and warmed up by the caller) or a :class:`ChatProcess`.

    Args:
        chat_backend: What answers.
        on_added: Told the files an upload wrote into the articles folder.
        access: Sign-in and roles (default: no sign-in, everyone edits: a single user on loopback).
        limits: Per-user limits (default: from the backend's config).
    """
    import gradio as gr

    backend = LocalChat(chat_backend) if isinstance(chat_backend, Engine) else chat_backend
    access = access or Access(backend.config, no_auth=True)
    limits = limits or Limits(backend.config)

    def turns_of(history: list | None):
        # Only the latest turns matter to a follow-up; a client may send the whole conversation.
        return earlier_turns(list(history or [])[-backend.config.max_history_turns:])

    def exchanges(question: str, history: list[dict] | None, who: str):
        """Yield ``(html, None)`` notes while the question waits, then the reply's HTML and the turn to remember.

        Any failure is a message in the reply (turn None), never a bare "Error".
        """
        question = (question or "").strip()
        if not question:
            yield "<p>Please type a question.</p>", None
            return
        too_many = limits.question_started(who)
        if too_many:
            yield f"<p>{_text(too_many)}</p>", None
            return
        try:
            reply = yield from _waiting_notes(backend.start("exchange", question, turns_of(history)))
        except Exception as e:  # too long, a malformed history, a failure: said plainly, nothing lost
            yield f"<p>{_text(str(as_chat_error(e)))}</p>", None
            return
        finally:
            limits.question_done(who)
        yield reply

    def exchange(question: str, history: list[dict] | None, who: str) -> tuple[str, dict | None]:
        """The reply's HTML and the turn to remember (None when nothing was answered)."""
        *_, last = exchanges(question, history, who)
        return last

    def chat(message: str, history: list[dict] | None = None, request: gr.Request = None) -> str:
        """Answer a chat message; returns the reply as HTML (answer, confidence, citations).

        Args:
            message: The question.
            history: Earlier turns of the conversation, oldest first, for follow-up questions: each a
                dict with ``question`` and ``answer`` (the dicts ``/ask`` returns will do). Not answered again.
        """
        return exchange(message, history, _who(request))[0]

    def ask(question: str, history: list[dict] | None = None, request: gr.Request = None) -> dict:
        """Answer a question; returns the answer, confidence and citations as JSON.

        Args:
            question: The question.
            history: Earlier turns of the conversation, oldest first, for follow-up questions: each a
                dict with ``question`` and ``answer`` (the dicts ``/ask`` returned will do; their
                ``resolved_question`` is used when present). Not answered again.
        """
        import gradio as gr

        who = _who(request)
        too_many = limits.question_started(who)
        if too_many:
            raise gr.Error(too_many, print_exception=False)
        try:
            return backend.answer((question or "").strip(), turns_of(history))
        except Exception as e:  # too long, empty, a malformed history, a failure: the message, not {"error": null}
            raise gr.Error(str(as_chat_error(e)), print_exception=False) from None
        finally:
            limits.question_done(who)

    def article(article_id: str) -> dict | None:
        """One indexed article, text included (what "show article" shows).

        Args:
            article_id: The article's id, as in a citation's ``article_id``.
        """
        return backend.article(article_id)

    def articles(query: str = "", limit: int = 1000) -> list[dict]:
        """The indexed articles (id, title, date, source, url), newest first, undated last: the newest ``limit`` whose
        title, date, source or URL contain every word of ``query`` (read from the index, not in line behind questions).

        Args:
            query: Words each article listed must contain (empty: every article).
            limit: At most this many articles (an archive is never sent whole unless asked for).
        """
        return backend.browse(query or "", max(0, int(limit)))["rows"]

    def add_question(message: str, history: list[dict]):
        if not (message or "").strip():  # nothing asked: no bubble, no reply
            return message, history, ""
        # The question is shown escaped: markup in it appears as typed.
        return "", history + [{"role": "user", "content": _text(message)}], message

    def add_answer(question: str, history: list[dict], turns: list[dict], request: gr.Request = None):
        if not (question or "").strip():
            yield history, turns
            return
        # The conversation is kept as data (earlier questions and answers), never read back from the replies.
        for html, turn in exchanges(question, turns, _who(request)):
            yield history + [{"role": "assistant", "content": html}], turns + [turn] if turn else turns

    count = backend.stats()["articles"]

    def header(count: int) -> str:
        return (f"# Ask the articles\n{count:,} article{'s' if count != 1 else ''} indexed. Answers are quoted "
                "from the articles, with their sources below; when the articles do not hold an answer, you are told so.")

    def current_header():
        # The index can change while the chat runs (qa index, qa serve --watch): count what it holds now.
        try:
            return header(backend.stats()["articles"])
        except Exception:  # the count is a nicety; the question path reports real failures
            return gr.skip()

    def table(rows: list[dict]) -> list[list[str]]:
        return [[r["title"], r["date"], r["source"]] for r in rows]

    def index_signature():
        try:
            s = backend.stats()
        except Exception:  # the panel is a nicety; the question path reports real failures
            return None
        return [s.get("articles"), s.get("version")]

    # The panel follows the index (a deleted, added or re-indexed article) while the page is open:
    # every open page polls; the index is read at most once per interval however many pages ask,
    # and a page never waits for a read already in flight.
    seen = {"at": -math.inf, "value": None}
    reading = threading.Lock()

    def current_signature():
        if time.monotonic() - seen["at"] >= PANEL_POLL_S / 2 and reading.acquire(blocking=False):
            try:
                seen["value"], seen["at"] = index_signature(), time.monotonic()
            finally:
                reading.release()
        return seen["value"]

    def refresh(query: str):
        """The article panel from the index as it is now (it follows rebuilds, uploads and deletions)."""
        signature = index_signature()
        page = backend.browse(query, PANEL_ROWS)
        return signature, page["rows"], table(page["rows"]), panel_note(page, query), header(page["total"])

    def follow(signature, query: str):
        now = current_signature()
        if now is None or now == signature:
            return (gr.skip(),) * 5
        try:
            return refresh(query)
        except Exception:  # tried again at the next tick; the question path reports real failures
            return (gr.skip(),) * 5

    def search_articles(query: str):
        # Filtered by the index (read by the web process, not in line behind questions).
        page = backend.browse(query, PANEL_ROWS)
        return page["rows"], table(page["rows"]), panel_note(page, query)

    def original(article: dict | None, request) -> dict:
        """The download of the article's own file (a PDF, a Word file) for users who may read the articles."""
        path = library.original_file(backend.config, article) if access.can(getattr(request, "username", None), "reader") else None
        return gr.update(value=path, visible=path is not None)

    def show_row(shown: list[dict], evt: gr.SelectData, request: gr.Request = None):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if not isinstance(row, int) or not 0 <= row < len(shown):
            return gr.skip(), gr.skip()
        found = backend.article(shown[row]["id"])
        return render_article(found), original(found, request)

    def show_fragment(fragment: str, request: gr.Request = None):
        """The article a "show article" link names, with the range it names marked, and its original file."""
        article_id, mark, answer = parse_show(fragment)
        found = backend.article(article_id)
        return render_article(found, mark, answer), original(found, request)

    show_row.__annotations__["evt"] = gr.SelectData  # Gradio reads the annotation; gradio is imported lazily here
    show_row.__annotations__["request"] = show_fragment.__annotations__["request"] = gr.Request
    def upload_panel(request: gr.Request = None):
        """The "Add articles" panel, for editors only (the server refuses anyone else's upload whatever the client)."""
        return gr.update(visible=access.can(getattr(request, "username", None), "editor"))

    upload_panel.__annotations__["request"] = gr.Request

    def add_files(files: list[str] | None, query: str, request: gr.Request = None, progress=gr.Progress()):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        user = getattr(request, "username", None) or ""
        try:
            if not access.can(user, "editor"):  # the page hides the control; this refuses any client
                audit.record(backend.config.audit_file, user, "refused", files=[os.path.basename(p) for p in paths],
                             reason="not an editor")
                return (gr.skip(),) * 5 + ("Only editors can add articles; ask an admin for the editor role.", None)
            if not paths:
                return (gr.skip(),) * 5 + ("Choose one or more article files first.", None)
            added, notes = [], []
            for i, p in enumerate(paths):  # one at a time, so the bar moves as each file is indexed
                progress(i / len(paths), desc=f"Indexing {i + 1} of {len(paths)}")
                name = os.path.basename(p)
                try:
                    result = backend.add_files([p])
                except Exception as e:  # said in the status; what was indexed before stays
                    notes.append(f"{name}: {as_chat_error(e)}")
                    audit.record(backend.config.audit_file, user, "refused", file=name, reason=str(as_chat_error(e)))
                    continue
                added += result["added"]
                notes += result["warnings"]
                if result["added"]:
                    audit.record(backend.config.audit_file, user, "added", file=name, articles=result["added"])
                else:
                    audit.record(backend.config.audit_file, user, "refused", file=name, reason="; ".join(result["warnings"]))
                if on_added is not None:  # e.g. the folder watch: these files are indexed already
                    on_added(result.get("files", []))
        finally:
            for p in paths:  # Gradio keeps every upload in its temporary folder otherwise
                _remove_upload(p)
        progress(1.0, desc="Done")
        panel = refresh(query)
        lines = [f"Added {len(added)} article{'s' if len(added) != 1 else ''}: " + ", ".join(added) if added else "Nothing was added."]
        lines += [f"- {n}" for n in notes]
        return (*panel, "\n".join(lines), None)

    for fn in (chat, ask, add_answer, add_files):
        fn.__annotations__["request"] = gr.Request  # Gradio passes the request (its signed-in user) by this annotation

    # Uploads never handed to "Add to the index" would stay in Gradio's temporary folder: an hour, then deleted.
    with gr.Blocks(title="qa: ask the articles", delete_cache=(3600, 3600)) as demo:
        shown_state = gr.State([])
        signature_state = gr.State(None)  # the index the panel shows ([articles, version])
        with gr.Row():
            with gr.Column(scale=3):
                heading = gr.Markdown(header(count), elem_id="qa-heading")
                chatbot = gr.Chatbot(height=560, sanitize_html=True, label="qa", elem_id="qa-chat", buttons=["copy"],
                                     placeholder="Ask a question about the articles.")
                pending = gr.State("")
                turns = gr.State([])  # earlier turns as {question, resolved_question, answer} dicts
                with gr.Row():
                    box = gr.Textbox(label="Your question", placeholder="Ask a question…", show_label=False, scale=8,
                                 elem_id="qa-question", autofocus=True)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
                    clear = gr.Button("New conversation", scale=1)
            with gr.Column(scale=2):
                search = gr.Textbox(label="Filter articles", placeholder="Filter articles by title, date or source", show_label=False,
                                    elem_id="qa-article-search")
                listing = gr.Dataframe(headers=["Title", "Date", "Source"], value=[], interactive=False,
                                       wrap=True, max_height=300, column_widths=["52%", "22%", "26%"], elem_id="qa-articles",
                                       label="Articles (newest first)")
                none = gr.HTML(elem_id="qa-articles-none")
                poll = gr.Timer(PANEL_POLL_S)
                with gr.Accordion("Add articles", open=False, elem_id="qa-add-panel") as add_panel:
                    upload = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label=".txt .md .html .json .jsonl .pdf .docx",
                                     elem_id="qa-upload")
                    add = gr.Button("Add to the index", elem_id="qa-add")
                    status = gr.Markdown(elem_id="qa-add-status")
                viewer = gr.HTML(elem_id="qa-article-view", padding=True)
                download = gr.DownloadButton("Download the original file", visible=False, size="sm", elem_id="qa-original")
                show_id = gr.Textbox(label="Article to show", elem_classes=["qa-hidden"], show_label=False)
                show_go = gr.Button(elem_id="qa-show-go", elem_classes=["qa-hidden"])
        for trigger in (box.submit, send.click):
            trigger(add_question, [box, chatbot], [box, chatbot, pending], queue=False, api_visibility="private").then(
                # No Gradio limit here: the engine keeps the line, so the reply can say how long it is.
                add_answer, [pending, chatbot, turns], [chatbot, turns], api_visibility="private", concurrency_limit=None
            ).then(current_header, None, heading, queue=False, api_visibility="private")
        clear.click(lambda: ([], []), None, [chatbot, turns], queue=False, api_visibility="private")
        # The chat's own trash can clears the bubbles; the conversation goes with them.
        chatbot.clear(lambda: [], None, turns, queue=False, api_visibility="private")
        panel = [signature_state, shown_state, listing, none, heading]
        demo.load(refresh, search, panel, api_visibility="private")
        poll.tick(follow, [signature_state, search], panel, queue=False, show_progress="hidden", api_visibility="private")
        demo.load(upload_panel, None, add_panel, api_visibility="private")
        search.change(search_articles, search, [shown_state, listing, none], queue=False, trigger_mode="always_last",
                      api_visibility="private")
        listing.select(show_row, shown_state, [viewer, download], api_visibility="private")
        add.click(add_files, [upload, search], [*panel, status, upload], api_visibility="private")
        show_go.click(show_fragment, show_id, [viewer, download], js="() => window.__qaArticle || ''",
                      api_visibility="private")
        # No Gradio limit: the engine keeps one line for everyone, and each user may have only
        # max_pending_questions in it (a client that fires 60 at once gets a message for the rest).
        gr.api(chat, api_name="chat", concurrency_limit=None)
        gr.api(ask, api_name="ask", concurrency_limit=None)
        gr.api(article, api_name="article")
        gr.api(articles, api_name="articles")

        def stats() -> dict:
            """What the index holds now: articles, passages and a version that changes with every update."""
            return backend.stats()

        gr.api(stats, api_name="stats")
    return demo


def launch(chat_backend: LocalChat | ChatProcess | Engine, host: str = "127.0.0.1", port: int = 7860,
           on_added: Callable[[list[str]], None] | None = None, access: Access | None = None, **kwargs):
    """Serve the chat (blocks until stopped unless ``prevent_thread_lock=True``).

    Args:
        chat_backend: What answers.
        host: Address to bind.
        port: Port.
        on_added: Told the files an upload wrote into the articles folder (and indexed).
        access: Sign-in and roles (default: none, which only a loopback address allows).
        **kwargs: For Gradio's ``launch``.

    Returns:
        The running Gradio app (``.close()`` stops it).

    Raises:
        qa.web.access.AccessError: A network address without sign-in and without ``no_auth``.
    """
    from starlette.middleware import Middleware

    access = access or Access(chat_backend.config, no_auth=False)
    access.check_exposure(host)
    limits = Limits(chat_backend.config)
    demo = build_app(chat_backend, on_added, access, limits)
    kwargs.update(access.launch_kwargs())
    app_kwargs = kwargs.pop("app_kwargs", {}) or {}
    # In front of Gradio: editors only on the upload route, 429 over a per-user limit.
    app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), Middleware(LimitsMiddleware, access=access, limits=limits)]
    # max_file_size: Gradio's upload route is open to anyone who reaches the server, with no limit of its own.
    # _frontend=False skips Gradio's start-up self-check, one HEAD request with a 3 s timeout: on a busy
    # 2-core machine the first page render takes longer, and Gradio then exits with "a shareable link
    # must be created" although the server is fine (seen in the load test).
    kwargs.setdefault("_frontend", False)
    demo.launch(server_name=host, server_port=port, css=CSS, js=JS, theme=theme(), footer_links=["api"],
                max_file_size=chat_backend.config.max_upload_bytes, app_kwargs=app_kwargs, **kwargs)
    return demo
