"""Passages: sentence-aware chunks of an article with exact character offsets.

The sentence splitter is a few rules rather than a library: the libraries on PyPI
either need data downloads (NLTK punkt) or do not give character offsets that map
back exactly, and every passage must satisfy
``article.text[passage.start:passage.end] == passage.text``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from qa.articles import Article
from qa.config import ChunkingSettings

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "gen", "gov",
    "sen", "rep", "lt", "col", "capt", "sgt", "maj", "adm", "inc", "ltd", "co", "corp", "no",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt",
    "ft", "approx", "dept", "est", "fig", "pres", "rev", "hon", "gov't", "u.s", "u.n", "u.k",
}
# A boundary starts only where a run of end punctuation starts (the lookbehind): trying every
# position inside a long run ('!!!!…') re-scanned the rest of the run each time, quadratic in it.
_BOUNDARY = re.compile(r"(?<![.!?…])[.!?…]+[\"”’'\)\]]*(?=\s)|\n")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_INITIALS = re.compile(r"([a-z]\.)*[a-z]")
_WORD = re.compile(r"\S+")


@dataclass
class Passage:
    """A chunk of an article.

    Attributes:
        article_id: The article it comes from.
        number: Its position among the article's passages (0-based).
        start: Character offset in the article text where it starts.
        end: Character offset where it ends (exclusive).
        text: ``article.text[start:end]``.
    """

    article_id: str
    number: int
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.number}"

    def to_dict(self) -> dict:
        return asdict(self)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _word_before(text: str, sent_start: int, punct_at: int) -> str:
    """The non-space run that ends at ``punct_at`` (not before ``sent_start``).

    A backward scan rather than a regex over ``text[sent_start:punct_at]``: that slice grows
    with the sentence and was re-scanned at every period, quadratic in the sentence length.
    The runs scanned for different boundaries are disjoint (each boundary is followed by white
    space), so all scans together read each character at most once.
    """
    i = punct_at
    while i > sent_start and not text[i - 1].isspace():
        i -= 1
    return text[i:punct_at]


def _is_abbreviation(text: str, sent_start: int, punct_at: int) -> bool:
    word = _word_before(text, sent_start, punct_at)
    if not word:
        return False
    token = word.lstrip("(\"'“‘").lower()
    if token in ABBREVIATIONS or _INITIALS.fullmatch(token):
        return True  # titles, months, initials ('F.'), dotted acronyms ('U.N.')
    return False


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split text into sentences.

    Args:
        text: Any text.

    Returns:
        (start, end) character spans of the sentences, white space trimmed, in order.
    """
    spans = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group() != "\n":
            if text[m.start()] == "." and _is_abbreviation(text, start, m.start()):
                continue
            # Matched in place: slicing text[m.end():] copied the rest of the text at every
            # boundary, which made splitting quadratic in the article's length.
            nxt = _NEXT_CHAR.match(text, m.end())
            if nxt and (nxt.group(1).islower() or nxt.group(1) in ",;:)"):
                continue  # 'U.S. officials', '... said.' mid-quote: not a sentence start
        s, e = _strip(text, start, m.end())
        if e > s:
            spans.append((s, e))
        start = m.end()
    s, e = _strip(text, start, len(text))
    if e > s:
        spans.append((s, e))
    return spans


def _split_long(text: str, span: tuple[int, int], max_words: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than ``max_words`` at word boundaries."""
    words = [m.span() for m in _WORD.finditer(text, span[0], span[1])]
    if len(words) <= max_words:
        return [span]
    return [(words[i][0], words[min(i + max_words, len(words)) - 1][1]) for i in range(0, len(words), max_words)]


def chunk_text(text: str, settings: ChunkingSettings | None = None) -> list[tuple[int, int]]:
    """Group sentences into passages of about ``target_words`` words.

    Consecutive passages share ``overlap_sentences`` sentences so that an answer
    near a boundary is whole in at least one passage. A passage never exceeds
    ``max_words`` words and never cuts a word.

    Returns:
        (start, end) character spans of the passages.
    """
    cfg = settings or ChunkingSettings()
    sentences: list[tuple[int, int]] = []
    for span in split_sentences(text):
        sentences.extend(_split_long(text, span, cfg.max_words))
    counts = [len(text[s:e].split()) for s, e in sentences]
    chunks = []
    i = 0
    while i < len(sentences):
        j, words = i, counts[i]
        while j + 1 < len(sentences) and words < cfg.target_words and words + counts[j + 1] <= cfg.max_words:
            j += 1
            words += counts[j]
        chunks.append((sentences[i][0], sentences[j][1]))
        if j + 1 >= len(sentences):
            break
        nxt = j + 1
        # Step back for overlap, but always move forward and keep the overlap small.
        for _ in range(cfg.overlap_sentences):
            if nxt - 1 > i and counts[nxt - 1] <= cfg.max_words // 3:
                nxt -= 1
        i = nxt
    return chunks


def chunk_article(article: Article, settings: ChunkingSettings | None = None) -> list[Passage]:
    """Cut an article into passages.

    Args:
        article: The article.
        settings: Chunk sizes; defaults when None.

    Returns:
        Its passages, numbered from 0, each with exact offsets into ``article.text``.
    """
    return [
        Passage(article.id, n, s, e, article.text[s:e])
        for n, (s, e) in enumerate(chunk_text(article.text, settings))
    ]


def search_text(title: str, passage: Passage) -> str:
    """What retrieval sees of a passage: its article title gives context to pronouns and topic."""
    return f"{title}\n{passage.text}" if title else passage.text
