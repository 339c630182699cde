"""End to end with the shipped reader: seeds/ -> index -> answers with citations (API and CLI)."""

import json

import pytest

from conftest import SEEDS, needs_reader
from test_cli import qa

pytestmark = [needs_reader, pytest.mark.e2e]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from qa import Engine

    index = tmp_path_factory.mktemp("e2e") / "index"
    eng = Engine()
    eng.config.index_dir = str(index)
    report = eng.index(SEEDS)
    assert report.added == ["russia-nato-clash-over-libya-campaign.txt"]
    return Engine.load(index)


def test_answer_with_citation(engine):
    result = engine.ask("Who is the NATO Secretary-General?")
    assert result.found and "Rasmussen" in result.answer
    c = result.citations[0]
    assert c.title == "Russia, NATO Clash Over Libya Campaign" and c.date == "2011-07-04"
    assert c.source == "russia-nato-clash-over-libya-campaign.txt"
    article = engine.article(c.article_id)
    assert article.text[c.answer_start:c.answer_end] == result.answer
    assert article.text[c.passage_start:c.passage_end] == c.passage
    assert "**" + result.answer + "**" in c.marked()
    assert 0.5 <= result.confidence <= 1.0


@pytest.mark.parametrize("question,expected", [
    ("Who is Russia's foreign minister?", "Lavrov"),
    ("In which Russian city did Rasmussen meet Medvedev?", "Sochi"),
    ("Which TV channel did Saif al-Islam Gadhafi talk to?", "TF1"),
])
def test_more_questions(engine, question, expected):
    assert expected in (engine.ask(question).answer or "")


def test_an_answer_inside_a_quotation_is_shown_without_a_dangling_quotation_mark(engine):
    result = engine.ask("What did Lavrov say?")  # the reader's span starts at the quotation's opening mark
    assert result.found and "common understanding" in result.answer and "“" not in result.answer
    assert f"“[{result.answer}]" in result.citations[0].marked("[", "]")  # the highlight is the answer shown


def test_question_with_html_markup_is_read_by_its_words(engine):
    question = '<span class="q">Who heads the TNC?</span>'  # declined when its tags were read as words
    result = engine.ask(question)
    assert result.found and result.answer == engine.ask("Who heads the TNC?").answer
    assert result.question == question  # kept as typed; the chat shows it escaped
    assert "Is 3 < 5" in engine.ask("Is 3 < 5 in the articles?").resolved_question  # a lone '<' is not markup


def test_unanswerable_question_is_declined_with_closest_passages(engine):
    result = engine.ask("What is the boiling point of mercury in Kelvin?")
    assert not result.found and result.answer is None
    assert result.sources and result.citations == []


def test_follow_up_question(engine):
    first = engine.ask("Who heads the TNC?")
    assert "Jalil" in (first.answer or "")
    second = engine.ask("When did he resign from Libya's government?", [first])  # earlier Answers, oldest first
    assert "Jalil" in second.resolved_question and second.question == "When did he resign from Libya's government?"
    assert "February" in (second.answer or "")
    # a date is never "he": the third turn is still about Jalil
    third = engine.ask("Why did he resign?", [first, second])
    assert third.resolved_question == "Why did Mustafa Abdel Jalil resign?", third.resolved_question
    # a follow-up the articles do not answer is declined, and says how it was read
    fourth = engine.ask("How old is he?", [first])
    assert not fourth.found and fourth.resolved_question == "How old is Mustafa Abdel Jalil?"


def test_follow_up_history_as_turns_or_dicts(engine):
    from qa import Turn

    for history in ([Turn("Which TV channel did Saif al-Islam Gadhafi talk to?", "TF1")],
                    [{"question": "Which TV channel did Saif al-Islam Gadhafi talk to?", "answer": "TF1"}]):
        result = engine.ask("What did he tell the channel?", history)
        assert "Saif al-Islam Gadhafi" in result.resolved_question and "surrender" in (result.answer or "")


def test_standalone_question_with_pronoun_is_read_as_asked(engine):
    first = engine.ask("Who is the NATO Secretary-General?")
    question = "What did NATO Secretary-General Rasmussen defend during his visit to Sochi?"
    result = engine.ask(question, [first])
    assert result.resolved_question == question
    assert result.answer == engine.ask(question).answer


def test_too_long_question_is_refused_with_the_limit(engine):
    from qa.questions import QuestionTooLong

    with pytest.raises(QuestionTooLong, match="too long .*5,000 characters.*1,000"):
        engine.ask(("Who heads the TNC? " * 264)[:5000])


def test_question_of_170_tokens_within_the_limit_is_answered(engine):
    # Longer than the window leaves room for (it once made the tokenizer panic), shorter than the character limit.
    question = ("I am writing a long report on the Libyan rebels in 2011, their Transitional National Council, "
                "its role in international diplomacy, the talks with officials from Mr. Gadhafi's government, "
                "the NATO air campaign and the French arms drop to the rebels, the dispute between Russia and NATO "
                "over the United Nations resolution, Moscow's view of the alliance overstepping its bounds, "
                "the four-month conflict, the talks that have been on-going for two months, Saif al-Islam Gadhafi's "
                "interview with a French TV channel, the meeting of Rasmussen, Medvedev and Zuma in Sochi, the "
                "African Union's efforts to help negotiate a peaceful settlement, "
                "and the comments about a transition deal, so please tell me, for that report: who is the "
                "head of the TNC, the council that represents the rebels?")
    assert len(question) < 1000
    engine.reader.warm_up()
    assert len(engine.reader._tokenizer(question)["input_ids"]) > 160
    result = engine.ask(question)  # once a Rust panic in the tokenizer
    assert result.resolved_question == question  # truncated for the reader only, kept as asked
    assert result.sources and (result.answer is None or result.citations)


def test_cli_refuses_too_long_question_clearly(tmp_path):
    r = qa("ask", ("Who heads the TNC? " * 264)[:5000], "--index", str(tmp_path / "none"))
    assert r.returncode == 2 and "too long" in r.stderr and "1,000" in r.stderr and "Traceback" not in r.stderr


def test_configured_threshold_decides(engine):
    saved = engine.config.threshold
    try:
        engine.config.threshold = 1e6  # no margin reaches it: every question declined
        assert not engine.ask("Who is the NATO Secretary-General?").found
        engine.config.threshold = -1e6  # every question answered
        assert engine.ask("What is the boiling point of mercury in Kelvin?").found
    finally:
        engine.config.threshold = saved


def test_search_only(engine):
    hits = engine.search("French arms drop to rebels", k=2)
    assert hits and "French" in hits[0].source.passage and hits[0].rrf_score >= hits[-1].rrf_score


def test_cli_ask_json_and_text(tmp_path):
    index = tmp_path / "index"
    r = qa("index", "--articles", str(SEEDS), "--index", str(index))
    assert r.returncode == 0, r.stderr
    r = qa("ask", "Who is the NATO Secretary-General?", "--index", str(index), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert "Rasmussen" in data["answer"]
    assert data["citations"][0]["title"] == "Russia, NATO Clash Over Libya Campaign"
    r = qa("ask", "Who is the NATO Secretary-General?", "--index", str(index))
    assert "Rasmussen" in r.stdout and "[1] Russia, NATO Clash Over Libya Campaign, 2011-07-04" in r.stdout


def test_rendered_reply_escapes_article_html(tmp_path):
    from qa import Engine
    from qa.web import render

    arts = tmp_path / "arts"
    arts.mkdir()
    (arts / "evil.txt").write_text(
        "Evil <b>title</b>\n\nThe mayor of Springfield is <script>alert(1)</script>Joe Quimby. "
        "He was elected in 1990 <img src=x onerror=alert(2)>.\n"
    )
    eng = Engine()
    eng.config.index_dir = str(tmp_path / "index")
    eng.index(arts)
    answer = eng.ask("Who is the mayor of Springfield?")
    html = render(answer)  # the renderer works from the answer alone (it does not open the store)
    assert "<script>" not in html and "<img" not in html and "<b>title" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;title&lt;/b&gt;" in html


# The default precision is 'auto' (bf16 where the CPU has it in hardware, else fp32), so the
# tests above run in one precision per machine; both are forced here, so that a machine of
# either kind checks both paths a user may get.
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_answers_hold_in_each_precision(precision, tmp_path):
    from qa import Config, Engine
    from qa.precision import cpu_has_bf16

    if precision == "bf16" and not cpu_has_bf16():
        pytest.skip("bf16 is emulated on this CPU (~16x slower): 'auto' never chooses it here")
    config = Config(index_dir=str(tmp_path / "index"), embedding_precision=precision, reader_precision=precision)
    engine = Engine(config)
    engine.index(SEEDS)
    assert engine.embedder.precision == precision and engine.reader.precision == precision
    for question, expected in [("Who is the NATO Secretary-General?", "Rasmussen"), ("Who is Russia's foreign minister?", "Lavrov"),
                               ("In which Russian city did Rasmussen meet Medvedev?", "Sochi")]:
        assert expected in (engine.ask(question).answer or ""), (precision, question)
    assert not engine.ask("What is the boiling point of mercury in Kelvin?").found
