"""What the reader is trained on: SQuAD v1.1 train plus a configurable mix of "no answer" examples.

Negative sources (``--negatives``, comma-separated):

- ``other-paragraph``: a train question paired with another paragraph of its article
  that lacks the answer ("this passage is on topic but does not say").
- ``swap``: a train question whose name or number (one that its paragraph contains) is
  replaced by one from another paragraph of the same article that this paragraph never
  mentions ("looks answerable, is not": SQuAD v2.0's entity-swap kind).
- ``negation``: "Who was ..." → "Who was not ...", only over paragraphs with no negation
  word in them (SQuAD v2.0's negation kind).
- ``subjqa``, ``molweni``: every question of ``extra/subjqa.json`` (3,104 of 7,890
  unanswerable, reviews) and ``extra/molweni_test.json`` (311 of 2,871, chat logs). Their
  answerable questions come too, so that "a review" does not become a cue for "no answer".
- ``v2-validation``: the even articles of ``squad/validation-v2.0.json`` (what the first
  reader used). Not in the default: those articles are SQuAD dev articles, so their
  paragraphs and answerable questions are also in ``validation-v1.1.json``.

Nothing here reads a validation or test file unless ``v2-validation`` is asked for;
:func:`held_out_overlap` checks that for a built example list.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from qa.offline.squad import SquadExample, load_squad

NEGATIVE_SOURCES = ("other-paragraph", "swap", "negation", "subjqa", "molweni", "v2-validation")
DEFAULT_NEGATIVES = ("other-paragraph", "swap", "negation", "subjqa", "molweni")
# Per answerable train question (other-paragraph, swap) or per eligible one (negation).
DEFAULT_RATES = {"other-paragraph": 0.15, "swap": 0.12, "negation": 0.5}
# Data files, relative to the data folder (a .json.xz / .json.gz beside or instead is read too).
SOURCE_FILES = {
    "subjqa": "extra/subjqa.json",
    "molweni": "extra/molweni_test.json",
    "v2-validation": "squad/validation-v2.0.json",
}
HELD_OUT_FILES = (
    "squad/validation-v1.1.json",
    "squad/validation-v2.0.json",
    "squad/test-v1.1.json",
    "squad/test-v2.0.json",
)


def parse_negatives(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """Parse ``"other-paragraph,subjqa"`` into source names; '' or 'none' is no negatives.

    Raises:
        ValueError: An unknown source, naming the known ones.
    """
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [n for n in names if n and n != "none"]
    unknown = [n for n in names if n not in NEGATIVE_SOURCES]
    if unknown:
        raise ValueError(f"unknown negative source(s) {', '.join(unknown)}; known: {', '.join(NEGATIVE_SOURCES)}")
    return list(dict.fromkeys(names))


def data_file(data_dir: str | Path, relative: str) -> Path:
    """``data_dir/relative``, or its ``.xz`` / ``.gz`` compressed copy where only that exists."""
    path = Path(data_dir) / relative
    for candidate in (path, path.with_name(path.name + ".xz"), path.with_name(path.name + ".gz")):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{path} (or .xz / .gz) not found")


def split_articles(examples: list[SquadExample], part: str) -> list[SquadExample]:
    """Keep the examples of every other article ('even' or 'odd', in file order)."""
    titles: list[str] = []
    for ex in examples:
        if not titles or titles[-1] != ex.title:
            titles.append(ex.title)
    keep = {t for i, t in enumerate(titles) if (i % 2 == 0) == (part == "even")}
    return [ex for ex in examples if ex.title in keep]


def _paragraphs_by_title(examples: list[SquadExample]) -> dict[str, list[str]]:
    by_title: dict[str, list[str]] = {}
    for ex in examples:
        paras = by_title.setdefault(ex.title, [])
        if not paras or paras[-1] != ex.context:
            paras.append(ex.context)
    return by_title


def synthetic_negatives(examples: list[SquadExample], rate: float, seed: int) -> list[SquadExample]:
    """Pair questions with another paragraph of the same article that lacks the answer.

    Same-article paragraphs share topic and names, so these are hard negatives: the
    model has to read the passage, not just match the topic.
    """
    rng = random.Random(seed)
    by_title = _paragraphs_by_title(examples)
    out = []
    for ex in examples:
        if not ex.answers or rng.random() >= rate:
            continue
        paras = [p for p in by_title[ex.title] if p != ex.context]
        rng.shuffle(paras)
        for p in paras[:3]:
            if not any(a.lower() in p.lower() for a in ex.answers):
                out.append(SquadExample(ex.qid + "_neg", ex.title, ex.question, p))
                break
    return out


# Runs of capitalised words ("Notre Dame", "Frédéric Chopin") and numbers ("1876", "3,000").
# A regex rather than an NER model: no NER model is available offline, and for a swap a
# capitalised run is enough of a name (the test is only that the paragraph lacks it).
_ENTITY = re.compile(r"\b(?:[A-Z][\w'’.-]*[\w](?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'’.-]*[\w])*|\d[\d,.]*\d|\d)\b")
_NOT_ENTITIES = {"I", "The", "A", "An", "In", "On", "Of", "What", "Which", "Who", "Whom", "Whose", "When", "Where", "Why", "How"}


_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“]\s*)$")


def _entities(text: str, skip_first_word: bool = False, skip_sentence_starts: bool = False) -> list[tuple[int, int, str]]:
    out = []
    for m in _ENTITY.finditer(text):
        if skip_first_word and m.start() == 0:
            continue  # the question's first word is capitalised for grammar, not as a name
        if skip_sentence_starts and " " not in m.group() and _SENTENCE_START.search(text[max(0, m.start() - 3) : m.start()]):
            continue  # "Today", "However": one capitalised word opening a sentence is rarely a name
        if m.group() in _NOT_ENTITIES:
            continue
        out.append((m.start(), m.end(), m.group()))
    return out


def _is_number(text: str) -> bool:
    return text[0].isdigit()


def entity_swap_negatives(examples: list[SquadExample], rate: float, seed: int) -> list[SquadExample]:
    """Questions made unanswerable by swapping a name or number for one their paragraph lacks.

    The swapped-out entity must occur in the question's own paragraph (so the question
    is anchored there); the swapped-in one, of the same kind (number for number, name
    for name), comes from another paragraph of the same article and must not occur in
    this paragraph at all, so the edited question stays on topic but asks about
    something the paragraph never mentions.

    Args:
        examples: Answerable training examples (unanswerable ones are skipped).
        rate: Share of answerable questions to try.
        seed: Random seed.

    Returns:
        New examples with no answer, ids ``<qid>_swap``.
    """
    rng = random.Random(seed)
    by_title = _paragraphs_by_title(examples)
    pool: dict[str, list[str]] = {}  # entities per title, in first-seen order
    for title, paras in by_title.items():
        seen = dict.fromkeys(e for p in paras for _, _, e in _entities(p, skip_sentence_starts=True))
        pool[title] = list(seen)
    out = []
    for ex in examples:
        if not ex.answers or rng.random() >= rate:
            continue
        context_lower = ex.context.lower()
        anchored = [e for e in _entities(ex.question, skip_first_word=True) if e[2].lower() in context_lower]
        if not anchored:
            continue
        s, e, old = rng.choice(anchored)
        candidates = [
            c for c in pool[ex.title]
            if _is_number(c) == _is_number(old) and c.lower() not in context_lower and c.lower() not in ex.question.lower()
        ]
        if not candidates:
            continue
        new = rng.choice(candidates)
        out.append(SquadExample(ex.qid + "_swap", ex.title, ex.question[:s] + new + ex.question[e:], ex.context))
    return out


# Only "Who/What/Which + be/have" questions, where the wh-word is the subject or the
# complement, so "not" after the verb reads naturally ("Where was X buried" would give
# "Where was not X buried").
_NEGATABLE = re.compile(r"^((?:what|which|who)\s+(?:is|was|are|were|has|had|have))\s", re.IGNORECASE)
_NEGATION_WORDS = re.compile(r"\b(?:not|no|never|neither|nor|none|nobody|nothing|without|cannot)\b|n't\b", re.IGNORECASE)


def negation_negatives(examples: list[SquadExample], rate: float, seed: int) -> list[SquadExample]:
    """Questions made unanswerable by negation: "Who was the first ..." → "Who was not the first ...".

    Only questions that open with who / what / which and a form of be or have are edited,
    so "not" lands where it reads naturally, and only over paragraphs with no negation
    word, which therefore cannot say what something is *not*.

    Returns:
        New examples with no answer, ids ``<qid>_not``.
    """
    rng = random.Random(seed)
    out = []
    for ex in examples:
        if not ex.answers:
            continue
        m = _NEGATABLE.match(ex.question)
        if not m or _NEGATION_WORDS.search(ex.context) or _NEGATION_WORDS.search(ex.question):
            continue
        if rng.random() >= rate:
            continue
        question = ex.question[: m.end(1)] + " not" + ex.question[m.end(1) :]
        out.append(SquadExample(ex.qid + "_not", ex.title, question, ex.context))
    return out


def training_examples(
    train_files: list[str],
    negatives: list[str],
    data_dir: str | Path,
    rates: dict[str, float] | None = None,
    seed: int = 13,
) -> tuple[list[SquadExample], dict[str, int]]:
    """The training set: the train files plus the chosen negative sources.

    Args:
        train_files: SQuAD-format training files (answerable questions).
        negatives: Source names from :data:`NEGATIVE_SOURCES`.
        data_dir: Folder holding ``squad/`` and ``extra/``.
        rates: Rates of the synthetic sources (defaults: :data:`DEFAULT_RATES`).
        seed: Random seed of the synthetic sources.

    Returns:
        The examples and a count per part (``train``, each source, ``unanswerable``).
    """
    rates = {**DEFAULT_RATES, **(rates or {})}
    base: list[SquadExample] = []
    for path in train_files:
        base.extend(load_squad(path))
    examples = list(base)
    counts = {"train": len(base)}
    makers = {"other-paragraph": synthetic_negatives, "swap": entity_swap_negatives, "negation": negation_negatives}
    for i, name in enumerate(parse_negatives(negatives)):
        if name in makers:
            part = makers[name](base, rates[name], seed + i)
        else:
            part = load_squad(data_file(data_dir, SOURCE_FILES[name]))
            if name == "v2-validation":
                part = split_articles(part, "even")
        examples.extend(part)
        counts[name] = len(part)
    counts["unanswerable"] = sum(ex.is_impossible for ex in examples)
    return examples, counts


def held_out_overlap(examples: list[SquadExample], held_out: list[SquadExample]) -> list[str]:
    """Training examples that share a question id or a paragraph with held-out data.

    Synthetic ids (``<qid>_neg`` etc.) are checked by their source id too.

    Returns:
        The offending training ids (empty when the training data is clean).
    """
    ids = {ex.qid for ex in held_out}
    contexts = {ex.context.strip() for ex in held_out}
    bad = []
    for ex in examples:
        source_id = re.sub(r"_(?:neg|swap|not)$", "", ex.qid)
        if ex.qid in ids or source_id in ids or ex.context.strip() in contexts:
            bad.append(ex.qid)
    return bad
