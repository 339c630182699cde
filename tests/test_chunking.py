import re

from hypothesis import given, settings, strategies as st

from qa.articles import Article, load_articles
from qa.chunking import ChunkingSettings, chunk_article, split_sentences

from conftest import SEEDS


def check(article: Article, cfg: ChunkingSettings = ChunkingSettings()):
    passages = chunk_article(article, cfg)
    text = article.text
    for n, p in enumerate(passages):
        assert p.number == n and p.article_id == article.id
        assert text[p.start:p.end] == p.text
        assert p.text and p.text == p.text.strip()
        # never cut a word
        assert p.start == 0 or text[p.start - 1].isspace() or not text[p.start - 1].isalnum()
        assert p.end == len(text) or text[p.end].isspace() or not text[p.end].isalnum() or not text[p.end - 1].isalnum()
        assert len(p.text.split()) <= cfg.max_words
    # every word of the article is in some passage
    covered = set()
    for p in passages:
        covered.update(range(p.start, p.end))
    for m in re.finditer(r"\S+", text):
        assert m.start() in covered
    return passages


def test_seed_passages_overlap_and_sizes():
    articles, _ = load_articles(SEEDS)
    passages = check(articles[0])
    assert len(passages) >= 3
    for a, b in zip(passages, passages[1:]):
        assert b.start < a.end  # one sentence of overlap
        assert b.start > a.start
    assert all(40 <= len(p.text.split()) <= 200 for p in passages[:-1])


def test_abbreviations_do_not_split():
    text = "Mr. Zuma met the U.N. Security Council. Dr. Smith agreed. It ended."
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ["Mr. Zuma met the U.N. Security Council.", "Dr. Smith agreed.", "It ended."]


def test_unicode_odd_whitespace_long_sentence_and_one_line():
    uni = "Ünïcödé café — “quoted” text 😀 in 東京.\r\n\r\n\tTabs\u00a0and\u2003spaces   here!  Next one?  Yes."
    check(Article("u", "t", uni))
    long = " ".join(f"word{i}" for i in range(1000))  # no punctuation at all
    passages = check(Article("l", "t", long), ChunkingSettings(target_words=100, max_words=150))
    assert len(passages) == 7
    one = check(Article("o", "t", "Just one line"))
    assert [p.text for p in one] == ["Just one line"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n\t\u00a0éU.S\"”")), min_size=1, max_size=400),
       st.integers(3, 30))
def test_offsets_always_exact(text, max_words):
    if not text.strip():
        return
    check(Article("h", "t", text), ChunkingSettings(target_words=max(1, max_words // 2), max_words=max_words, overlap_sentences=1))
