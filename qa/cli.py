"""The `qa` command: index, ask, search, serve, eval, train-reader."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from qa.config import Config, ConfigError

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(help="Question answering over a folder of articles, with citations.", no_args_is_help=True,
                  add_completion=False, context_settings=HELP_OPTIONS)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"qa {version('qa')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("qa (not installed)")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")] = False,
) -> None:
    """Question answering over a folder of articles, with citations."""

IndexOpt = Annotated[Optional[str], typer.Option("--index", "-i", help="Index folder [default: index, or $QA_INDEX_DIR]")]
ArticlesOpt = Annotated[Optional[str], typer.Option("--articles", "-a", help="Articles folder [default: seeds, or $QA_ARTICLES_DIR]")]
UsersOpt = Annotated[Optional[str], typer.Option("--users", help="Users file [default: users.json, or $QA_USERS_FILE]")]
ReaderOpt = Annotated[Optional[str], typer.Option("--reader", help="Reader model: path or hub id [default: the bundled reader]")]
FollowLinksOpt = Annotated[bool, typer.Option("--follow-links", help="Read files that links in the articles folder point to outside it")]
StoreOpt = Annotated[Optional[str], typer.Option("--store", help="Index store: local (the --index folder), milvus:///path/file.db (Milvus Lite) or http://host:19530 [default: local, or $QA_STORE]")]
EmbedOpt = Annotated[Optional[str], typer.Option("--embedding-model", help="sentence-transformers model [default: all-MiniLM-L6-v2, bundled]")]


# The command-line option of each setting, so that a bad value is reported as the user typed it.
OPTIONS = {"index_dir": "--index", "articles_dir": "--articles", "reader_model": "--reader",
           "embedding_model": "--embedding-model", "top_k": "--top-k", "threshold": "--threshold",
           "index_type": "--index-type", "store": "--store", "ray": "--ray"}


def _config(**settings) -> Config:
    """Settings from the environment and the command line; a bad value exits 2 with a message naming it."""
    try:
        return Config.from_env(**settings)
    except ConfigError as e:
        if e.source is None and e.name in OPTIONS:  # from an option, not from a QA_* variable
            _fail(f"{OPTIONS[e.name]} {e.value}: {e.reason}")
        _fail(str(e))


def _engine(index: str | None = None, articles: str | None = None, reader: str | None = None, embedding_model: str | None = None, **more):
    from qa.engine import Engine

    return Engine(_config(index_dir=index, articles_dir=articles, reader_model=reader, embedding_model=embedding_model, **more))


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _articles_folder(articles: str | None, location: str) -> tuple[str | None, str]:
    """The articles folder for a command that indexes: --articles, else $QA_ARTICLES_DIR, else the folder the
    index was built from (it remembers it), else the default. Returns (folder or None for the default, where from)."""
    if articles is not None:
        return articles, ""
    if os.environ.get("QA_ARTICLES_DIR"):
        return None, ""
    from qa.indexing import remembered_folder

    folder = remembered_folder(location)
    return (folder, "the folder this index was built from") if folder else (None, "")


def _index_location(index: str | None, store: str | None) -> str:
    """Where the index is, from the options and QA_* variables alone (bad values are reported later, with the rest)."""
    try:
        return Config.from_env(index_dir=index, store=store).location
    except ConfigError:
        return index or os.environ.get("QA_INDEX_DIR") or "index"


def _run_index(engine, rebuild: bool = False, wait: float = 0.0, confirmed: bool = True) -> None:
    from qa.articles import reader_options
    from qa.indexing import NoArticles, TooManyRemoved
    from qa.stores import IndexStoreError

    folder = engine.config.articles_dir
    indexer = engine.indexer()
    indexer.lock_wait = wait
    try:
        report = indexer.index_folder(folder, rebuild=rebuild, show_progress=True, max_removed_share=None if confirmed else 0.5,
                                      **reader_options(engine.config))
    except FileNotFoundError as e:
        _fail(str(e))
    except TooManyRemoved as e:
        from qa.indexing import remembered_folder

        built_from = remembered_folder(engine.config.location)
        hint = (f" It was built from {built_from}/: to refresh that folder, run qa index --articles {built_from}."
                if built_from and os.path.abspath(built_from) != os.path.abspath(folder) else "")
        _fail(f"qa index would remove {e.removed} of the {e.total} articles of {engine.config.location}/ "
              f"({folder}/ holds {e.total - e.removed} of them); nothing was changed.{hint} "
              "If the removal is meant, run again with --yes.")
    except NoArticles as e:
        for w in e.warnings:
            typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
        _fail(str(e), code=1)
    except (IndexStoreError, RuntimeError) as e:  # RuntimeError: --ray without Ray installed, or Ray failing
        _fail(str(e))
    for w in report.warnings:
        typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
    if report.rebuilt:
        typer.echo(f"Rebuilt everything: {report.rebuilt}.", err=True)
    if report.reindexed:
        typer.echo(f"Rebuilt the search structure (no embedding): {report.reindexed}.", err=True)
    where = engine.config.location + ("" if engine.config.store != "local" else "/")
    typer.echo(f"{where}: {report.summary()}")
    if report.passages == 0:
        _fail(f"no articles could be indexed from {folder}/", code=1)


@app.command()
def index(
    articles: ArticlesOpt = None,
    index: IndexOpt = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed every article")] = False,
    embedding_model: EmbedOpt = None,
    index_type: Annotated[Optional[str], typer.Option(help="auto, flat or hnsw")] = None,
    follow_links: FollowLinksOpt = False,
    store: StoreOpt = None,
    ray: Annotated[Optional[str], typer.Option("--ray", help="Embed on Ray: auto (the running cluster, else a local one), local, or an address such as ray://head:10001 [default: off, or $QA_RAY]")] = None,
    wait: Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for another build of the same index to finish (0: fail at once)")] = 60,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm a run that removes more than half of the index's articles")] = False,
) -> None:
    """Build or refresh the index: embeds new and changed articles, drops deleted ones.

    Without --articles (and $QA_ARTICLES_DIR) it refreshes the folder the index was built from.
    """
    articles, why = _articles_folder(articles, _index_location(index, store))
    if why:
        typer.echo(f"articles: {articles}/ ({why}; give --articles to index another folder)", err=True)
    _run_index(_engine(index, articles, embedding_model=embedding_model, index_type=index_type,
                       follow_links=follow_links or None, store=store, ray=ray), rebuild, wait=wait, confirmed=yes)


def _open(engine) -> None:
    from qa.stores import IndexStoreError

    try:
        engine.open()
    except IndexStoreError as e:
        _fail(str(e))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    index: IndexOpt = None,
    store: StoreOpt = None,
    reader: ReaderOpt = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", "-k", help="Passages to read")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="'No answer' below this reader margin, overriding the reader's calibrated rule (decline when P(right) < its open_min_confidence); default: the calibrated rule")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON (fields: see the README)")] = False,
    articles: Annotated[Optional[str], typer.Option("--articles", "-a", help="Articles folder the index was built from: .txt answers also get their offsets in the file [default: seeds, or $QA_ARTICLES_DIR]")] = None,
) -> None:
    """Answer a question from the indexed articles, with citations."""
    from qa.news import describe
    from qa.questions import check_question_length
    from qa.answers import declined_note, newer_note

    engine = _engine(index, articles, reader=reader, top_k=top_k, threshold=threshold, store=store)
    try:
        check_question_length(question, engine.config.max_question_chars)  # before any loading: said at once
    except ValueError as e:
        _fail(str(e))
    _open(engine)
    try:
        result = engine.ask(question)
    except (ValueError, FileNotFoundError) as e:
        _fail(str(e))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    if result.period:
        typer.echo(f"(articles from {describe(result.period)} first, as the question asks)")
    if result.found:
        typer.secho(result.line(), bold=True)
        if result.evidence is not None:  # the sentence that states it, the answer in [brackets]
            typer.echo(f'    "{" ".join(result.evidence.marked("[", "]").split())}"')
        if len(result.over_time) > 1:
            typer.echo("The articles differ over time, newest first: "
                       + "; ".join(f"{o['answer']} ({o['date']})" for o in result.over_time))
        newer = newer_note(result)
        if newer:
            typer.echo(newer)
        typer.echo(f"confidence {result.confidence:.0%}")
        for n, c in enumerate(result.citations, 1):
            in_file = f"; in the file {c.file_answer_start}-{c.file_answer_end}" if c.file_answer_start is not None else ""
            typer.echo(f"\n[{n}] {_cited(c)} ({_where(c)}, passage {c.passage_number}, characters {c.answer_start}-{c.answer_end}{in_file})")
            typer.echo("    " + c.marked("[", "]"))
    else:
        typer.secho("No answer found in the articles.", bold=True)
        note = declined_note(result)
        if note:
            typer.echo(note)
        typer.echo("Closest passages:")
        for n, c in enumerate(result.sources[:3], 1):
            typer.echo(f"\n[{n}] {_cited(c)} ({_where(c)}, passage {c.passage_number})\n    {c.passage}")
    if result.resolved_question != result.question:
        typer.echo(f"\n(read as: {result.resolved_question})")


def _where(c) -> str:
    """A source's file and, for a PDF, the page: 'report.pdf, p. 4'."""
    return f"{c.source}, p. {c.page}" if getattr(c, "page", None) else c.source


def _cited(c) -> str:
    """A source's title, date and byline: 'Title, 2011-07-04, by Ann Lee' (each part when known)."""
    return ", ".join(x for x in (c.title, c.date, f"by {c.author}" if c.author else "") if x)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    index: IndexOpt = None,
    store: StoreOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the passages closest to a query (no reading)."""
    engine = _engine(index, top_k=top_k, store=store)  # checks -k with the other settings
    _open(engine)
    hits = engine.search(query, engine.config.top_k)
    if as_json:
        typer.echo(json.dumps([{"rrf_score": h.rrf_score, **h.source.__dict__} for h in hits], indent=2, ensure_ascii=False))
        return
    for h in hits:
        page = f"p. {h.source.page}, " if h.source.page else ""
        typer.echo(f"{h.rrf_score:.3f}  {_cited(h.source)} ({page}passage {h.source.passage_number})\n       {h.source.passage[:200]}")


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        # As the web server binds: a port left in TIME_WAIT by a server just stopped is free to use.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _port_message(host: str, port: int) -> str:
    return f"port {port} on {host} is already in use (another qa serve?); choose another with --port, e.g. qa serve --port {port + 1}"


@app.command()
def serve(
    articles: ArticlesOpt = None,
    index: IndexOpt = None,
    store: StoreOpt = None,
    reader: ReaderOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 exposes it to the network)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port", min=1, max=65535)] = 7860,
    no_index: Annotated[bool, typer.Option("--no-index", help="Do not build or refresh the index first")] = False,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", help="Re-index the articles folder when its files change (not with --no-index)")] = True,
    follow_links: FollowLinksOpt = False,
    users: UsersOpt = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Serve without sign-in even on a network address (closed networks you trust only)")] = False,
    proxy_header: Annotated[Optional[str], typer.Option("--proxy-header", help="Trust this header (e.g. X-Forwarded-User) set by a signing-in reverse proxy for the user name")] = None,
    trusted_proxy: Annotated[Optional[list[str]], typer.Option("--trusted-proxy", help="Address the proxy connects from (repeatable) [default: 127.0.0.1 and ::1]")] = None,
    proxy_default_role: Annotated[str, typer.Option("--proxy-default-role", help="Role of a proxy-signed-in user not in the users file: reader, editor or admin")] = "reader",
    workers: Annotated[Optional[int], typer.Option("--workers", envvar="QA_WORKERS", min=1, max=32, help="Processes answering questions at once, sharing the index (each loads the models, ~0.5 GB) [default: one per core, at most 4; 1 for a Milvus Lite file]")] = None,
) -> None:
    """Run the web chat; builds or refreshes the index first if it is missing or stale.

    The chat answers from the newest index: a rebuild or update by `qa index` (or by the
    folder watch) is picked up before the next question, without a restart. With users in the
    users file (`qa users add`), everyone signs in; on a network address it refuses to start
    without sign-in unless told --no-auth.
    """
    import signal

    from qa.stores import IndexMissing, IndexStoreError, open_store
    from qa.users import ROLES, UsersError
    from qa.web.access import Access, AccessError

    articles, why = _articles_folder(articles, _index_location(index, store))
    if why:
        typer.echo(f"articles: {articles}/ ({why}; give --articles to serve another folder)", err=True)
    engine = _engine(index, articles, reader=reader, follow_links=follow_links or None, store=store, users_file=users)
    if proxy_default_role not in ROLES:
        _fail(f"--proxy-default-role must be one of {', '.join(ROLES)} (got {proxy_default_role!r})")
    access = Access(engine.config, proxy_header=proxy_header, trusted_proxies=tuple(trusted_proxy or ("127.0.0.1", "::1")),
                    proxy_default_role=proxy_default_role, no_auth=no_auth)
    try:
        access.check_exposure(host)  # before anything is loaded: said at once
    except (AccessError, UsersError) as e:
        _fail(str(e))
    if not no_index:
        from qa.articles import load_articles, reader_options

        try:
            arts, _ = load_articles(engine.config.articles_dir, **reader_options(engine.config))
        except FileNotFoundError as e:
            _fail(str(e))
        if engine.indexer().stale(arts):
            _run_index(engine, wait=600)  # another build of this index (qa index in another shell): waited for
    else:
        try:
            open_store(engine.config.location).close()
        except IndexMissing as e:
            _fail(str(e))
        except IndexStoreError:
            pass  # the engine's own check reports it, with what to do
    if not _port_free(host, port):
        _fail(_port_message(host, port))
    from qa.web import ChatProcess
    from qa.web.worker import default_workers

    # Models load in child processes while this one imports and starts the web server.
    backend = ChatProcess(engine.config, workers or default_workers(engine.config.location))

    def stop(*_):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second TERM ends it at once
        sys.exit(0)  # unwinds: the web server and the child process are shut down

    signal.signal(signal.SIGTERM, stop)
    demo = None
    watcher = None
    if watch and not no_index:
        from qa.locations import is_lite_location
        from qa.watch import FolderWatcher, reindex_command, reindex_through

        # A Milvus Lite file is open in one process at a time, the chat's: it re-indexes there.
        reindex = reindex_through(backend) if is_lite_location(engine.config.location) else reindex_command(engine.config)
        watcher = FolderWatcher(engine.config.articles_dir, reindex)
        watcher.start()
    try:
        from qa.web import launch

        try:
            # The page is served at once; questions wait for the models if they are still loading.
            demo = launch(backend, host=host, port=port, prevent_thread_lock=True,
                          on_added=watcher.acknowledge if watcher is not None else None, access=access)
            backend.wait()
        except Exception as e:  # a damaged index, a missing model, a busy port: said plainly
            if demo is not None:
                demo.close()
            _fail(_port_message(host, port) if "empty port" in str(e) else str(e) or repr(e))
        demo.block_thread()
    finally:
        if watcher is not None:
            watcher.stop()
        backend.close()


users_app = typer.Typer(help="Users of a shared chat: names, roles (reader, editor, admin) and passwords.",
                        no_args_is_help=True, context_settings=HELP_OPTIONS)
app.add_typer(users_app, name="users")


def _users(path: str | None):
    from qa.users import Users

    return Users(_config(users_file=path).users_file)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name: letters, digits and . _ @ -")],
    role: Annotated[str, typer.Option("--role", help="reader (asks and reads), editor (also adds articles) or admin (also manages users)")] = "reader",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts)")] = False,
    users: UsersOpt = None,
) -> None:
    """Add a user, or set a user's password and role (the password is asked for, twice)."""
    from qa.users import UsersError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = _users(users)
    try:
        store.add(name, password, role)
    except UsersError as e:
        _fail(str(e))
    typer.echo(f"{name}: {role} (in {store.path})")


@users_app.command("list")
def users_list(users: UsersOpt = None) -> None:
    """The users and their roles."""
    from qa.users import UsersError

    store = _users(users)
    try:
        rows = store.list()
    except UsersError as e:
        _fail(str(e))
    if not rows:
        typer.echo(f"No users in {store.path}: the chat runs without sign-in (loopback only).")
    for u in rows:
        typer.echo(f"{u.name}\t{u.role}")


@users_app.command("role")
def users_role(name: Annotated[str, typer.Argument(help="User name")],
               role: Annotated[str, typer.Argument(help="reader, editor or admin")], users: UsersOpt = None) -> None:
    """Change a user's role."""
    from qa.users import UsersError

    try:
        _users(users).set_role(name, role)
    except UsersError as e:
        _fail(str(e))
    typer.echo(f"{name}: {role}")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="User name")], users: UsersOpt = None) -> None:
    """Remove a user (a running chat refuses their next request)."""
    from qa.users import UsersError

    try:
        _users(users).remove(name)
    except UsersError as e:
        _fail(str(e))
    typer.echo(f"removed {name}")


@app.command()
def audit(
    last: Annotated[int, typer.Option("--last", "-n", help="Only the newest N entries (0: all)", min=0)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line")] = False,
    audit_file: Annotated[Optional[str], typer.Option("--file", help="The audit log [default: audit.jsonl, or $QA_AUDIT_FILE]")] = None,
) -> None:
    """Who added (or was refused adding) which article from the chat, and when."""
    from qa import audit as audit_log

    path = _config(audit_file=audit_file).audit_file
    entries = audit_log.read(path, last or None)
    if not entries:
        typer.echo(f"Nothing recorded in {path}.")
    for e in entries:
        if as_json:
            typer.echo(json.dumps(e, ensure_ascii=False))
            continue
        details = ", ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in e.items()
                            if k not in ("time", "user", "action"))
        typer.echo(f"{e.get('time', '')}  {e.get('user') or '(no sign-in)'}  {e.get('action', '')}  {details}")


eval_app = typer.Typer(help="Measure the reader or the whole system on SQuAD-format files.", no_args_is_help=True,
                       context_settings=HELP_OPTIONS)
app.add_typer(eval_app, name="eval")


@eval_app.command("reader")
def eval_reader(
    file: Annotated[Path, typer.Argument(help="SQuAD v1.1 / v2.0 JSON file", exists=True, dir_okay=False)],
    reader: ReaderOpt = None,
    threshold: Annotated[Optional[float], typer.Option(help="'No answer' threshold; default: the reader's own")] = None,
    no_null: Annotated[bool, typer.Option("--always-answer", help="Never decline (the default for files without unanswerable questions, SQuAD v1.1)")] = False,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N questions")] = None,
    quantize: Annotated[bool, typer.Option("--quantize", help="int8 dynamic quantisation of the reader")] = False,
    precision: Annotated[str, typer.Option(help="Reader precision: fp32, bf16 (autocast) or auto (bf16 where the CPU has it)")] = "fp32",
    articles: Annotated[str, typer.Option(help="Whose questions: all, or untrained (articles the reader was not trained on)")] = "all",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write results JSON here")] = None,
) -> None:
    """Reader alone on gold paragraphs: EM / F1 (HasAns / NoAns for v2.0)."""
    from qa.offline.evaluation import evaluate_reader, print_table

    try:
        result = evaluate_reader(file, reader or "bundled", threshold=None if no_null else threshold, always_answer=no_null,
                                 limit=limit, quantize=quantize, articles=articles, precision=precision)
    except (ValueError, FileNotFoundError) as e:
        _fail(str(e))
    print_table(result)
    _write(result, output)


@eval_app.command("open")
def eval_open(
    file: Annotated[Path, typer.Argument(help="SQuAD-format JSON file: its articles become the corpus", exists=True, dir_okay=False)],
    reader: ReaderOpt = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", "-k", help="Passages read per question [default: the engine's, 3]")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N questions")] = None,
    index: Annotated[Optional[str], typer.Option("--index", help="Use this index instead of building one from the file")] = None,
    always_answer: Annotated[bool, typer.Option("--always-answer", help="Never decline")] = False,
    threshold: Annotated[Optional[float], typer.Option(help="'No answer' below this reader margin, overriding the reader's calibrated rule (P(right) < open_min_confidence); default: the calibrated rule")] = None,
    unindexed: Annotated[float, typer.Option(help="Leave this fraction of the file's articles out of the index and also ask their questions: reports the false-answer rate", min=0.0, max=0.95)] = 0.0,
    articles: Annotated[str, typer.Option(help="Whose questions to ask: all, or untrained (articles the reader was not trained on)")] = "all",
    sample: Annotated[Optional[int], typer.Option(help="A seeded random sample of N questions", min=1)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the held-out articles and the sample")] = 13,
    cache: Annotated[Optional[Path], typer.Option(help="Write per-question candidates here (JSONL, resumable), for `qa eval fit-confidence`")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o")] = None,
) -> None:
    """Retrieval + reader over the file's articles: EM / F1, false answers to unindexed articles' questions, ECE, recall@k, latency."""
    from qa.offline.evaluation import evaluate_open, print_table

    try:
        result = evaluate_open(file, reader or "bundled", top_k=top_k, limit=limit, index_dir=index, always_answer=always_answer,
                               unindexed=unindexed, articles=articles, sample=sample, seed=seed, cache=cache, threshold=threshold)
    except (ValueError, FileNotFoundError) as e:
        _fail(str(e))
    print_table(result)
    _write(result, output)


@eval_app.command("calibrate")
def eval_calibrate(
    model_dir: Annotated[Path, typer.Argument(help="Reader folder; gets qa_reader.json", exists=True, file_okay=False)],
    data: Annotated[Path, typer.Option(help="SQuAD v2.0 validation file")] = Path("../shared/data/squad/validation-v2.0.json"),
) -> None:
    """Choose the reader's 'no answer' threshold for SQuAD v2.0-style reading, on the v2.0 validation articles not used in training.

    The engine's threshold and its confidence are fitted in the engine's own setting by
    `qa eval open --unindexed 0.5 --articles untrained --cache C` then `qa eval fit-confidence C --write DIR`.
    """
    from qa.offline.evaluation import calibrate

    typer.echo(json.dumps(calibrate(model_dir, data), indent=2))
    typer.echo("next, for the engine's threshold and confidence: qa eval open ... --cache C; qa eval fit-confidence C --write " + str(model_dir))


@eval_app.command("fit-confidence")
def eval_fit_confidence(
    cache: Annotated[Path, typer.Argument(help="Per-question cache of `qa eval open --unindexed F --articles untrained --cache PATH`", exists=True, dir_okay=False)],
    data: Annotated[Path, typer.Option(help="The SQuAD file that run read")] = Path("../shared/data/squad/validation-v1.1.json"),
    write: Annotated[Optional[Path], typer.Option(help="Reader folder whose qa_reader.json gets the confidence and open_min_confidence")] = None,
    max_false_rate: Annotated[float, typer.Option(help="Largest share of unindexed-article questions answered, on the fitting articles", min=0.0, max=1.0)] = 0.04,
    output: Annotated[Optional[Path], typer.Option("--output", "-o")] = None,
) -> None:
    """Fit the confidence (P(right) from the margin and the passage's cosine) and the engine's decline (a minimum P(right)) on half the articles; report on the other half."""
    from qa.offline.evaluation import fit_confidence

    try:
        result = fit_confidence(cache, data, write, max_false_rate)
    except (ValueError, FileNotFoundError, KeyError) as e:
        _fail(str(e))
    summary = {k: v for k, v in result.items() if k not in ("fit", "report")}
    for when in ("original", "before", "after", "choose_by_probability"):
        summary[f"report_{when}"] = {k: v for k, v in result["report"][when].items() if not isinstance(v, list)}
    typer.echo(json.dumps(summary, indent=2))
    _write(result, output)


def _write(result: dict, output: Path | None) -> None:
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2))
        typer.echo(f"wrote {output}")


@app.command("train-reader")
def train_reader(
    work_dir: Annotated[Path, typer.Option(help="Checkpoints and features (outside git); a folder holding a run is resumed")] = Path("runs/reader"),
    steps: Annotated[Optional[int], typer.Option(help="Total optimizer steps of the run (default: from --epochs)")] = None,
    epochs: Annotated[Optional[float], typer.Option(help="Length of the run in passes over the data (default: 1; on resume: as saved)")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Windows per step (default: 128 on a GPU, 16 on a CPU)")] = None,
    learning_rate: Annotated[Optional[float], typer.Option(help="Peak learning rate (default: 1e-4 x sqrt(batch/16), at most 3e-4)")] = None,
    data: Annotated[Path, typer.Option(help="Folder holding squad/train-v1.1.json and extra/")] = Path("../shared/data"),
    negatives: Annotated[str, typer.Option(help="'No answer' sources, comma-separated: other-paragraph, swap, negation, subjqa, molweni, v2-validation; or none")] = "other-paragraph,swap,negation,subjqa,molweni",
    init: Annotated[Optional[Path], typer.Option("--init", help="Start from this reader's weights (e.g. qa/models/reader, to train it further)")] = None,
    device: Annotated[str, typer.Option(help="auto (a CUDA GPU where there is one), cuda or cpu")] = "auto",
    cpu_bf16: Annotated[bool, typer.Option("--cpu-bf16", help="bf16 autocast on a CPU with native bf16 (avx512_bf16/AMX); off: it measured no faster here")] = False,
    export_to: Annotated[Optional[Path], typer.Option("--export", help="After training, write the fp16 model here (e.g. qa/models/reader)")] = None,
    split_mib: Annotated[Optional[float], typer.Option("--split-mib", help="With --export: cut model.safetensors into parts of at most this many MiB, with a sha256 manifest")] = None,
    join: Annotated[Optional[Path], typer.Option("--join", help="Only reassemble and verify DIR/model.safetensors from its parts (see --split-mib), then stop")] = None,
) -> None:
    """Fine-tune a reader (the bundled MiniLM, or --init weights); resumes from the last checkpoint."""
    from qa.offline.training_data import data_file, parse_negatives

    if join is not None:
        from qa.offline.file_parts import PartsError, join_parts, manifest_path

        manifest = manifest_path(join / "model.safetensors")
        if not manifest.exists():
            _fail(f"{manifest} not found: nothing to join")
        try:
            joined = join_parts(manifest, remove_parts=True)
        except PartsError as e:
            _fail(f"not joined: {e}")
        typer.echo(f"joined and verified {joined}")
        return
    try:
        sources = parse_negatives(negatives)
    except ValueError as e:
        _fail(str(e))
    if init is not None and not (init / "config.json").exists():
        _fail(f"--init {init}: no model there (config.json missing)")
    try:
        train_file = data_file(data, "squad/train-v1.1.json")
    except FileNotFoundError as e:
        _fail(f"training data: {e}")
    from qa.offline.training import TrainConfig, export, train
    from qa.offline.training_device import detect_facts, plan_device

    try:
        plan_device(detect_facts(), device)
    except ValueError as e:
        _fail(str(e))

    logging.basicConfig(level=logging.INFO)
    cfg = TrainConfig(
        base_model=str(init or ""),
        init_from=str(init or ""),
        data_dir=str(data),
        train_files=[str(train_file)],
        negatives=sources,
        total_steps=steps,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        device=device,
        cpu_bf16=cpu_bf16,
    )
    train(cfg, work_dir)
    if export_to:
        export(work_dir, export_to, split_mib=split_mib)
        typer.echo(f"exported to {export_to}; calibrate it with: qa eval calibrate {export_to}")


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # model loading bars; ours stay
    if os.environ.get("QA_ALLOW_DOWNLOADS", "").strip().lower() not in ("1", "true", "yes", "on"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never contact the hub unless asked to (QA_ALLOW_DOWNLOADS=1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    # An index that has to be rebuilt is logged by qa.indexing and also said by the report the CLI
    # prints ("Rebuilt everything: ..."): both printed the same problem twice, the log line even
    # telling the user to run the rebuild that was already running.
    logging.getLogger("qa.indexing").setLevel(logging.ERROR)
    try:
        app()
    except ConfigError as e:  # a bad QA_* variable met outside _config (e.g. by `qa eval`)
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
