import re

from hypothesis import given, settings, strategies as st

from qa.articles import Article, load_articles
from qa.chunking import _BOUNDARY, chunk_article, chunk_text, split_sentences
from qa.config import ChunkingSettings

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


class CountingText(str):
    """Text that counts the characters taken out of it by indexing and slicing."""

    read = 0

    def __getitem__(self, key):
        part = str.__getitem__(self, key)
        CountingText.read += len(part)
        return part


def test_splitting_reads_each_character_a_bounded_number_of_times():
    # Structural, not timed: copying the rest of the text at every sentence boundary made 8 MB take
    # 37 s (quadratic). Each character may now be read a few times, whatever the article's length.
    base = (SEEDS / "russia-nato-clash-over-libya-campaign.txt").read_text()
    for size in (50_000, 200_000):
        text = CountingText((base * (size // len(base) + 1))[:size] + " Mr. Smith went to the U.S. embassy. " * 200
                            + " and the U.S. met the U.N. and" * (size // 100))  # one long sentence of periods
        CountingText.read = 0
        assert chunk_text(text)
        assert CountingText.read <= 4 * len(text), (size, CountingText.read / len(text))


def test_boundary_search_starts_only_at_the_start_of_a_punctuation_run():
    # Trying every position inside '!!!!…' re-scanned the run each time: 40,000 '!' took 38 s.
    text = "Hey!!!! You. Next"
    assert _BOUNDARY.match(text, 3).group() == "!!!!"
    assert all(_BOUNDARY.match(text, i) is None for i in (4, 5, 6))
    long = "Wow" + "!" * 100_000 + " Ok. Then this."
    assert [long[s:e] for s, e in split_sentences(long)] == ["Wow" + "!" * 100_000, "Ok.", "Then this."]
