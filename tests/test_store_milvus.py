"""The Milvus store against real Milvus Lite: build, ask, upsert, delete, restart, rebuild published
under a reader, and parity with the local FAISS store on the same corpus and questions."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SEEDS, milvus_lite_runs, needs_reader
from qa.articles import Article, load_articles
from qa.config import Config
from qa.engine import Engine
from qa.text import normalize_answer
from qa.stores import HybridSearch, IndexStore, StoreSettings, open_store

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'qa[milvus]'): Milvus store not tested")


@pytest.fixture(scope="module")
def milvus_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("milvus")
    why = milvus_lite_runs(tmp)
    if why:
        pytest.skip(f"Milvus Lite cannot run here ({why}): Milvus store not tested")
    return tmp


PARITY = json.loads((Path(__file__).parent / "data" / "parity.json").read_text())["articles"]


def corpus() -> list[Article]:
    seeds, _ = load_articles(SEEDS)
    extra = [Article(f"squad-{i}", a["title"], a["text"], "2020-01-01", f"squad-{i}.txt", author=f"Reporter {i}")
             for i, a in enumerate(PARITY)]
    return seeds + extra


@pytest.fixture(scope="module")
def engines(milvus_dir, tmp_path_factory, embedder):
    """A Milvus Lite engine and a local (FAISS) engine over the same corpus."""
    arts = corpus()
    built = {}
    for name, store in (("milvus", f"milvus://{milvus_dir}/qa.db"), ("local", "local")):
        e = Engine(Config(index_dir=str(tmp_path_factory.mktemp("local-index")), store=store))
        e.embedder = embedder  # one model load for both
        e.indexer().index(arts)
        e.open()
        built[name] = e
    yield built
    for e in built.values():
        e.store.close()


def test_build_and_search(engines):
    m = engines["milvus"]
    from qa.stores.milvus import MilvusStore

    assert isinstance(m.store, MilvusStore) and isinstance(m.store, IndexStore) and isinstance(m.store, HybridSearch)
    stats, local = m.stats(), engines["local"].stats()
    assert (stats.articles, stats.passages) == (local.articles, local.passages) and stats.passages > 8
    hit = m.search("Secretary-General of NATO visit to Sochi", 3)[0].source
    assert hit.title.startswith("Russia, NATO") and hit.date == "2011-07-04" and "Sochi" in hit.passage
    article = m.article(hit.article_id)
    assert article.text[hit.passage_start:hit.passage_end] == hit.passage  # offsets into the stored article text
    # Keyword search is Milvus's BM25: a rare word finds its passage.
    found = m.store.keyword_search("chloroplasts", 3)
    assert found and m.store.passages([found[0][0]])[0].article.title == "Chloroplast"
    # Bylines: the same in both stores, and on every citation.
    bylines = [(a.id, a.author) for a in m.articles()]
    assert bylines == [(a.id, a.author) for a in engines["local"].articles()] and ("squad-0", "Reporter 0") in bylines
    cited = {name: [(h.source.article_id, h.source.author) for h in e.search("chloroplasts photosynthesis", 3)]
             for name, e in engines.items()}
    assert cited["milvus"] == cited["local"] and all(author == dict(bylines)[aid] for aid, author in cited["milvus"])
    assert any(author for _, author in cited["milvus"])


@needs_reader
def test_ask_answers_with_citation(engines):
    r = engines["milvus"].ask("Who is the NATO Secretary-General?")
    assert r.found and "Rasmussen" in r.answer
    c = r.citations[0]
    assert c.date == "2011-07-04" and c.marked("[", "]").count("[") == 1


def test_upsert_change_delete_and_restart(engines, milvus_dir, embedder):
    m = engines["milvus"]
    before = m.stats()
    oid = "O'Brien's otters, 100%.txt"  # a quote and a percent sign: Milvus Lite 2.5 pastes keys into SQL
    filler = " ".join(f"Otters in bay number {i} float on their backs near the kelp forests." for i in range(30))
    m.upsert([Article(oid, "Otters", f"{filler} Sea otters in Monterey Bay use rocks as anvils to open clams.", "2021-05-01", oid)])
    hits = m.search("otters rocks anvils clams", 1)
    assert hits[0].source.article_id == oid and m.stats().articles == before.articles + 1
    assert m.stats().passages >= before.passages + 3  # a long first version: several passages
    # Changed under the same id, now one passage: the old passages are gone, the new one found.
    m.upsert([Article(oid, "Otters", "River otters in Scotland eat eels and crayfish.", "2021-05-02", oid)])
    assert m.store.keyword_search("anvils", 5) == []
    assert m.search("otters eels crayfish", 1)[0].source.date == "2021-05-02"
    assert m.stats().passages == before.passages + 1
    assert m.article(oid).text.startswith("River otters")
    m.delete([oid])
    assert m.store.keyword_search("otters", 5) == [] and m.article(oid) is None
    assert (m.stats().articles, m.stats().passages) == (before.articles, before.passages)
    # Restart: a new engine on the same file sees the same index.
    m.store.close()
    again = Engine(Config(store=f"milvus://{milvus_dir}/qa.db"))
    again.embedder = embedder
    again.open()
    assert (again.stats().articles, again.stats().passages) == (before.articles, before.passages)
    assert again.search("Secretary-General of NATO visit to Sochi", 1)[0].source.title.startswith("Russia, NATO")
    engines["milvus"] = again


def test_rebuild_is_invisible_until_published(milvus_dir, embedder):
    from qa.stores.milvus import MilvusStore

    loc = f"milvus://{milvus_dir}/alias.db"
    first = Engine(Config(store=loc))
    first.embedder = embedder
    first.indexer().index([Article("a.txt", "Alpha", "Alpha particles are helium nuclei.")])
    store = open_store(loc, embedder.model_name)
    assert [a.id for a in store.list_articles()] == ["a.txt"]
    old = store._passages
    building = MilvusStore.create(loc, StoreSettings(embedder.model_name, embedder.dimension, {}, "auto"))
    from qa.chunking import chunk_article, search_text
    from qa.stores import ArticleRecord, PassageRecord, content_hash

    b = Article("b.txt", "Beta", "Beta decay emits electrons.")
    recs = [PassageRecord(p, search_text(b.title, p), content_hash(search_text(b.title, p), embedder.model_name),
                          embedder.embed([search_text(b.title, p)])[0]) for p in chunk_article(b)]
    building.write([ArticleRecord(b, recs)])
    # Readers still see the old index while the new one is written.
    assert [a.id for a in store.list_articles()] == ["a.txt"] and store.keyword_search("beta", 3) == []
    building.publish()
    assert [a.id for a in store.list_articles()] == ["a.txt"]  # the replaced build stays readable...
    assert store.refresh() is True  # ...until the reader refreshes (the engine does before each question)
    assert [a.id for a in store.list_articles()] == ["b.txt"]
    again = MilvusStore.create(loc, StoreSettings(embedder.model_name, embedder.dimension, {}, "auto"))
    again.publish()
    names = store._client.list_collections()
    assert old not in names and len([n for n in names if "_passages_" in n]) == 2  # the build before last was dropped
    assert again._passages in names and building._passages in names
    again.close()
    building.close()
    store.close()


@needs_reader
def test_parity_with_the_local_store(engines):
    """Same corpus, same questions: the passages retrieved and the answers given by Milvus and FAISS."""
    questions = [q["question"] for a in PARITY for q in a["questions"]] + [
        "Who is the NATO Secretary-General?", "Where did Rasmussen meet Medvedev?", "Who leads the African Union's efforts?"]
    k = engines["local"].config.top_k
    overlap, agree = [], []
    for q in questions:
        ids = {name: [(h.source.article_id, h.source.passage_number) for h in e.search(q, k)] for name, e in engines.items()}
        overlap.append(len(set(ids["milvus"]) & set(ids["local"])) / k)
        answers = {name: e.ask(q).answer for name, e in engines.items()}
        agree.append(normalize_answer(answers["milvus"] or "") == normalize_answer(answers["local"] or ""))
    mean_overlap, agreement = sum(overlap) / len(overlap), sum(agree) / len(agree)
    print(f"\nMilvus vs FAISS on {len(questions)} questions: overlap@{k} {mean_overlap:.3f}, answer agreement {agreement:.3f}")
    assert mean_overlap >= 0.8 and agreement >= 0.85


def test_bad_locations_are_refused_with_a_message(milvus_dir, tmp_path):
    from qa.config import ConfigError

    with pytest.raises(ConfigError, match="milvus:///path/file.db"):
        Config(store="milvus://")
    with pytest.raises(ConfigError, match="store"):
        Config(store="ftp://x")
    with pytest.raises(ConfigError, match="at most 36 letters"):
        Config(store=f"milvus://{tmp_path}/my index.db")
    from qa.stores import IndexMissing

    with pytest.raises(IndexMissing, match="qa index --store"):
        open_store(f"milvus://{tmp_path}/empty.db")


try:
    from milvus_lite.server import Server  # noqa: F401

    LITE_25 = True
except ImportError:
    LITE_25 = False

HOLDER = """
import sys
from qa.stores import open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
print(len(store.list_articles()), flush=True)
store.close()
"""


def test_a_file_open_in_another_process_is_refused_and_left_intact(milvus_dir, embedder):
    """Milvus Lite is one process per file: a second one gets a message, and the first keeps working."""
    from qa.stores import IndexStoreError

    loc = f"milvus://{milvus_dir}/busy.db"
    e = Engine(Config(store=loc))
    e.embedder = embedder
    e.indexer().index([Article("a.txt", "Alpha", "Alpha particles are helium nuclei.")])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, loc], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(IndexStoreError, match="another (process|qa)"):
            open_store(loc)
        with pytest.raises(IndexStoreError, match="another (process|qa)"):
            e.indexer().index([Article("b.txt", "Beta", "Beta decay emits electrons.")])
        if LITE_25:  # whose failed start would delete the holder's lock file
            assert (milvus_dir / ".busy.db.lock").exists()
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "1"  # the holder still reads its index
    finally:
        holder.kill()
        holder.wait()


@needs_reader
def test_serve_on_a_lite_file_reindexes_folder_changes_in_its_own_process(milvus_dir, tmp_path, embedder):
    """The chat holds the Lite file, so the folder watch re-indexes through the chat's engine:
    a `qa index` child would be refused."""
    import shutil

    from gradio_client import Client
    from test_live import _wait_for

    from conftest import ROOT, free_port

    arts = tmp_path / "arts"
    shutil.copytree(SEEDS, arts)
    loc = f"milvus://{milvus_dir}/watched.db"
    port = free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--articles", str(arts), "--store", loc, "--port", str(port)],
                            cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(url, proc, log)
        client = Client(url, verbose=False)
        before = client.predict(api_name="/stats")["articles"]
        (arts / "lighthouse.txt").write_text("Lighthouse\n\nThe lighthouse keeper of Port Vell is Marta Puig, appointed in 2009.")
        deadline = time.time() + 240
        while client.predict(api_name="/stats")["articles"] == before and time.time() < deadline:
            time.sleep(2)
        assert client.predict(api_name="/stats")["articles"] == before + 1  # the page's count follows too
        after = client.predict("Who is the lighthouse keeper of Port Vell?", api_name="/ask")
        assert "Marta Puig" in after["answer"], log.read_text()[-2000:]
        assert "re-indexing failed" not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=60)


# ---- bylines --------------------------------------------------------------------------------

def _bylined(author_a: str = "Ann Lee") -> list[Article]:
    return [Article("a.txt", "Alpha", "Alpha particles are helium nuclei. They stop in paper.", "2020-01-01", "a.txt", author=author_a),
            Article("b.txt", "Beta", "Beta decay emits electrons. Lead shields stop them.", "2020-01-02", "b.txt")]


def _counting(embedder, monkeypatch) -> list[str]:
    texts: list[str] = []
    embed = embedder.embed
    monkeypatch.setattr(embedder, "embed", lambda batch, *a, **k: texts.extend(batch) or embed(batch, *a, **k))
    return texts


def test_bylines_round_trip_and_a_byline_fix_costs_no_embedding(milvus_dir, embedder, monkeypatch):
    e = Engine(Config(store=f"milvus://{milvus_dir}/bylines.db"))
    e.embedder = embedder
    e.indexer().index(_bylined())
    e.open()
    try:
        assert [(a.id, a.author) for a in e.articles()] == [("a.txt", "Ann Lee"), ("b.txt", "")]
        assert e.article("a.txt").author == "Ann Lee" and e.article("b.txt").author == ""
        assert {h.source.article_id: h.source.author for h in e.search("helium nuclei", 2)} == {"a.txt": "Ann Lee", "b.txt": ""}
        embedded = _counting(embedder, monkeypatch)
        report = e.indexer().index(_bylined("Ann B. Lee"))
        assert report.changed == ["a.txt"] and report.unchanged == ["b.txt"] and report.embedded == 0 and embedded == []
        e.store.refresh()
        assert e.article("a.txt").author == "Ann B. Lee" and e.search("helium nuclei", 1)[0].source.author == "Ann B. Lee"
    finally:
        e.store.close()


def _as_made_before_bylines(loc: str) -> str:
    """Make a Milvus index what qa made before bylines were stored: an articles collection without
    the author field (created as qa did then), holding the old hashes. Returns its name."""
    from pymilvus import DataType

    from qa.stores.milvus import POINTER_ID
    from test_store import _hash_before_bylines

    store = open_store(loc)
    client, new = store._client, store._articles
    name = f"{store.prefix}_articles_{int(time.time() * 1e6)}_old"
    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=4096)
    s.add_field("article_id", DataType.VARCHAR, max_length=1024)
    s.add_field("part", DataType.INT64)
    s.add_field("parts", DataType.INT64)
    for f in ("title", "date", "source", "url", "hash"):
        s.add_field(f, DataType.VARCHAR, max_length=4096)
    s.add_field("text", DataType.VARCHAR, max_length=65_535)
    s.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    params = client.prepare_index_params()
    params.add_index(field_name="v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=s, index_params=params, consistency_level="Strong")
    old_hash = {a.id: _hash_before_bylines(a) for a in store.articles([a.id for a in store.list_articles()])}
    fields = ["pk", "article_id", "part", "parts", "title", "date", "source", "url", "hash", "text"]
    rows = [{**{f: r[f] for f in fields}, "v": [0.0, 0.0]} for r in store._scan(new, "part >= 0", fields)]
    for r in rows:
        if r["article_id"]:
            r["hash"] = old_hash[r["article_id"]]
    client.insert(name, rows)
    client.load_collection(name)
    client.upsert(f"{store.prefix}_current", [{"pk": POINTER_ID, "passages": store._passages, "articles": name, "v": [0.0, 0.0]}])
    client.drop_collection(new)
    store.close()
    return name


def test_a_collection_made_before_bylines_still_answers_and_gets_them_without_embedding(milvus_dir, embedder, monkeypatch):
    loc = f"milvus://{milvus_dir}/before.db"
    e = Engine(Config(store=loc))
    e.embedder = embedder
    e.indexer().index([Article(a.id, a.title, a.text, a.date, a.source) for a in _bylined()])
    old = _as_made_before_bylines(loc)
    e.open()  # a reader (the chat) open across the upgrade
    assert [(a.id, a.author) for a in e.articles()] == [("a.txt", ""), ("b.txt", "")]
    hits = e.search("helium nuclei", 2)
    assert hits[0].source.article_id == "a.txt" and hits[0].source.author == "" and e.article("a.txt").text.startswith("Alpha")
    embedded = _counting(embedder, monkeypatch)
    report = e.indexer().index(_bylined())  # the files now have bylines
    assert report.changed == ["a.txt"] and report.unchanged == ["b.txt"] and report.embedded == 0 and embedded == []
    assert [a.author for a in e.articles()] == ["", ""]  # the reader, not refreshed yet, still reads the old collection
    assert e.store.refresh() and [(a.id, a.author) for a in e.articles()] == [("a.txt", "Ann Lee"), ("b.txt", "")]
    assert e.search("helium nuclei", 1)[0].source.author == "Ann Lee"
    assert old in e.store._client.list_collections()  # kept while another store had it open
    e.store.close()
    # With no other store open on the file, the old collection goes at once.
    old = _as_made_before_bylines(loc)
    report = e.indexer().index(_bylined("Ann B. Lee"))
    assert report.changed == ["a.txt"] and report.embedded == 0
    store = open_store(loc)
    try:
        assert [a.author for a in store.list_articles()] == ["Ann B. Lee", ""] and old not in store._client.list_collections()
    finally:
        store.close()
