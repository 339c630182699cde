"""What a question asks for, and whether a candidate answer is of that kind (qa.answer_types), and its use in the answer decision."""

import pytest

from qa import answer_types, news
from qa.answers import Rule, decide
from qa.answers import Calibration
from qa.reader import Span
from qa.retrieval import Citation, Source


@pytest.mark.parametrize("question, kind", [
    ("How many passengers were on board?", "number"),
    ("How many were still missing?", "number"),
    ("What was the death toll on Friday?", "number"),
    ("How much did a crossing cost in March 2024?", "money"),
    ("How much will the nurses' pay deal cost the hospital network?", "money"),
    ("What is the average salary of a nurse in the Ardmoor network?", "money"),
    ("What percentage of voters turned out?", "percent"),
    ("What was the turnout in the special election?", "percent"),
    ("When did the ferry capsize?", "time"),
    ("In what year was the bridge opened?", "time"),
    ("How long was Korvell's ban?", "duration"),
    ("Who replaced him as chief executive?", "person"),
    ("What was the captain's name?", "name"),
    ("Where did the ferry sink?", "place"),
    ("In which port did the survivors land?", "place"),
    ("Why did Matthias Orrin resign?", "reason"),
    ("What injury did the captain suffer?", "other"),
    ("How much more did it earn than the sequel?", "other"),  # "how much" alone is not money
    ("When Jews returned to Frankish lands, which fields did they take up?", "other"),  # a clause, not a time question
    ("Where did Miami rank among cities in finance?", "other"),  # a rank, not a place
])
def test_asked(question, kind):
    assert answer_types.asked(question) == kind


@pytest.mark.parametrize("kind, text, ok", [
    ("number", "312", True), ("number", "three", True), ("number", "dozens", True), ("number", "none", True),
    ("number", "more", False), ("number", "the Marisol", False),
    ("money", "$14.50", True), ("money", "£9.5 million", True), ("money", "1.4 million", True),
    ("money", "5.2%", False), ("money", "the fare", False),
    ("percent", "5.2%", True), ("percent", "54 percent", True), ("percent", "$2.3 billion", False),
    ("time", "Sunday", True), ("time", "3 March 2024", True), ("time", "at about 11:40 pm", True), ("time", "after the war", True),
    ("time", "Harald Brennecke", False), ("time", "Kettle Point", False),
    ("duration", "30 months", True), ("duration", "four-year", True), ("duration", "Harald Brennecke", False),
    ("person", "Joren Havik", True), ("person", "the coast guard", True), ("person", "14 March", False), ("person", "42", False),
    ("name", "Joren Havik", True), ("name", "MV", False), ("name", "Sunday", False),
    ("place", "Kettle Point", True), ("place", "Sunday", False),
    ("reason", "delayed flood warnings", True), ("reason", "2020", False),
    ("other", "more", True),
])
def test_fits(kind, text, ok):
    assert answer_types.fits(kind, text) is ok


def _source(passage: str, date: str = "") -> Citation:
    return Source("a.txt", "A", date, "a.txt", "", 1, 0, len(passage), passage, cosine=0.6)


def _span(passage: str, text: str, margin: float) -> Span:
    start = passage.index(text)
    return Span(0, start, start + len(text), text, margin, 0.0)


RULE = Rule(Calibration(0.3, -3.0, 2.8), 0.25, 0.0)
PASSAGE = "The ferry, licensed to carry 400 passengers, had 312 on board, and more were feared missing."


def test_decide_passes_over_a_span_of_another_kind():
    """The reader's best ("more") is not a count: the best span that is one is the answer."""
    spans = [_span(PASSAGE, "more", 9.0), _span(PASSAGE, "312", 7.0)]
    answer = decide("How many passengers were on board?", "How many passengers were on board?", spans, [_source(PASSAGE)],
                    RULE, news.time_ask("How many passengers were on board?"))
    assert answer.answer == "312"
    assert answer.answer_type == "number"
    assert answer.confidence == pytest.approx(RULE.calibration.probability(7.0, 0.6))


def test_decide_declines_when_no_span_is_of_the_kind_asked():
    spans = [_span(PASSAGE, "more", 9.0), _span(PASSAGE, "The ferry", 8.0)]
    answer = decide("How many lifeboats were there?", "How many lifeboats were there?", spans, [_source(PASSAGE)],
                    RULE, news.time_ask("How many lifeboats were there?"))
    assert answer.answer is None
    assert answer.declined == "wrong kind"
    assert answer.confidence == 0.0


def test_decide_unchanged_when_the_question_does_not_say():
    spans = [_span(PASSAGE, "more", 9.0), _span(PASSAGE, "312", 7.0)]
    answer = decide("What was feared?", "What was feared?", spans, [_source(PASSAGE)], RULE, news.time_ask("What was feared?"))
    assert answer.answer == "more"
    assert answer.declined is None and answer.evidence is not None
    assert answer.evidence.marked("[", "]").startswith("The ferry, licensed to carry 400 passengers, had 312 on board, and [more]")


def test_decide_cites_only_passages_that_give_the_answer():
    """The same words in a passage the reader doubts (another event's "Monday") are not a citation."""
    first = "The inquiry opened on Monday in Port Amsel."
    other = "Shops reopened on Monday after the storm, the council said."
    sources = [_source(first), _source(other)]
    spans = [_span(first, "Monday", 9.0), Span(1, other.index("Monday"), other.index("Monday") + 6, "Monday", -4.0, 0.0)]
    q = "When did the inquiry open?"
    answer = decide(q, q, spans, sources, RULE, news.time_ask(q))
    assert answer.answer == "Monday"
    assert [c.passage for c in answer.citations] == [first]
    spans[1] = Span(1, other.index("Monday"), other.index("Monday") + 6, "Monday", 8.0, 0.0)
    assert len(decide(q, q, spans, sources, RULE, news.time_ask(q)).citations) == 2


def test_decide_takes_the_answer_inside_a_span_that_restates_the_question():
    """Overlapping candidates: the reader's surest is the whole clause; the time inside it is the answer."""
    passage = "Redmarsh Athletic sacked manager Graham Tolley on Sunday after a fifth straight defeat."
    clause = "Redmarsh Athletic sacked manager Graham Tolley on Sunday"
    spans = [_span(passage, clause, 9.0), _span(passage, "Sunday", 8.0), _span(passage, "a fifth straight defeat", 3.0)]
    q = "When was Graham Tolley sacked?"
    answer = decide(q, q, spans, [_source(passage)], RULE, news.time_ask(q))
    assert answer.answer == "Sunday"
    assert answer_types.fits("time", clause) and not answer_types.fits("time", clause, q)


def test_an_ordinal_alone_does_not_count():
    """'How many have died?' -> 'third' ("the third death") ranks, it does not count; 'a third' and 'three' do."""
    q = "How many people have died as a result of the leak?"
    assert not answer_types.fits("number", "third", q) and not answer_types.fits("number", "21st", q)
    assert answer_types.fits("number", "three", q) and answer_types.fits("number", "a third", q)
    assert answer_types.fits("number", "third", "Which number was drawn?")  # not a count asked: a rank may answer
