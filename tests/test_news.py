"""Time in answers: relative answers resolved against the article's date, what a question asks about time,
periods named in questions, answers that changed over time (qa/news.py, qa/answers.decide).
Unit tests on the rules, then the real engine on small dated articles."""

import json
from datetime import date, datetime

import numpy as np
import pytest

from conftest import needs_reader
from qa.answers import Calibration, Rule, decide, newer_note
from qa.engine import Source
from qa.news import TimeAsk, describe, first_report, prefer_period, question_period, resolve_relative, said_as_past, time_ask
from qa.reader import Span

MON_4_JULY_2011 = date(2011, 7, 4)


@pytest.mark.parametrize("text,iso", [
    ("Monday", "2011-07-04"),           # a bare weekday is the latest one, the publication day included
    ("on Monday", "2011-07-04"),
    ("late on Sunday", "2011-07-03"),
    ("Sunday", "2011-07-03"),
    ("last Monday", "2011-06-27"),
    ("next Friday", "2011-07-08"),
    ("Tuesday night", "2011-06-28"),
    ("yesterday", "2011-07-03"),
    ("today", "2011-07-04"),
    ("tomorrow", "2011-07-05"),
    ("two days ago", "2011-07-02"),
    ("last week", "2011-W26"),
    ("3 weeks ago", "2011-W24"),
    ("last month", "2011-06"),
    ("in March", "2011-03"),            # the nearest March, before or after the publication month
    ("in September", "2011-09"),        # a coming month: "in September" in a July article
    ("in December", "2011-12"),
    ("in January", "2011-01"),          # six months either way: the past
    ("last year", "2010"),
])
def test_relative_answers_resolve_against_the_publication_date(text, iso):
    assert resolve_relative(text, MON_4_JULY_2011).iso == iso


@pytest.mark.parametrize("text", ["Rasmussen", "2011", "Sochi", "July 4, 2011", "the Monday meeting", ""])
def test_other_answers_are_not_relative_times(text):
    assert resolve_relative(text, MON_4_JULY_2011) is None


def test_describe_names_days_weeks_and_months():
    assert describe("2011-07-04") == "4 July 2011"
    assert describe("2011-W26") == "week of 27 June 2011"
    assert describe("2011-03") == "March 2011"
    assert describe("2011") == "2011"


@pytest.mark.parametrize("question,iso", [
    ("How many cases were there in July 2011?", "2011-07"),
    ("Who won the race in 2010?", "2010"),
    ("What happened in Sept. 2010?", "2010-09"),
    ("What was decided this year?", "2026"),
    ("Who was elected last year?", "2025"),
    ("Who is the NATO Secretary-General?", None),
    ("What was resolution 2011-12 about?", None),
    ("Which events of 2009-2010 mattered?", None),  # a range is not one year
])
def test_questions_that_name_a_time(question, iso):
    p = question_period(question, today=date(2026, 11, 28))
    assert (p.iso if p else None) == iso


def _cite(article_id: str, day: str, passage: str = "The count reached 120 on Monday.") -> Source:
    return Source(article_id, f"Title {article_id}", day, f"{article_id}.txt", "", 1, 0, len(passage), passage)


def test_an_events_first_report_is_the_earliest_close_match_not_what_led_up_to_it():
    resigned = _cite("resigned", "2024-12-18", "Halloway resigned as mayor on Tuesday.")
    recap = _cite("recap", "2025-03-12", "Halloway, who resigned in December, pleaded not guilty.")
    suspended = _cite("suspended", "2024-11-27", "The council voted to suspend Mayor Halloway.")
    resigned.cosine, recap.cosine, suspended.cosine = 0.50, 0.46, 0.42
    assert first_report([recap, suspended, resigned]).article_id == "resigned"
    assert first_report([recap, suspended, resigned], within=0.1).article_id == "suspended"  # reaches back too far
    assert first_report([_cite("undated", "")]) is None


def test_prefer_period_keeps_that_periods_articles_first():
    pool = [_cite("a", "2010-05-01"), _cite("b", "2011-07-02"), _cite("c", ""), _cite("d", "2011-07-30")]
    kept, used = prefer_period(pool, question_period("in July 2011"), 2)
    assert used and [c.article_id for c in kept] == ["b", "d"]
    kept, used = prefer_period(pool, question_period("in July 2011"), 3)  # the others after, never dropped
    assert used and [c.article_id for c in kept] == ["b", "d", "a"]
    kept, used = prefer_period(pool, question_period("in 1999"), 2)  # none of that period: plain order
    assert not used and [c.article_id for c in kept] == ["a", "b"]


# A rule with a plain logistic in the margin around 2.0, declining below P = 0.5 (margin 2).
RULE = Rule(Calibration(1.0, -2.0, 0.0, "uncalibrated"), 0.5, 2.0)
CURRENT, FIXED = TimeAsk("current"), TimeAsk("fixed")


def _decide(spans, sources, ask):
    return decide("What is it?", "What is it?", spans, sources, RULE, ask)  # no answer kind checked


def test_a_current_state_question_leads_with_the_newest_answer():
    old = _cite("old", "2011-06-01", "The count reached 120 on Monday.")
    new = _cite("new", "2011-07-01", "The count reached 340 on Friday.")
    spans = [Span(0, 18, 21, "120", 9.0, 1.0), Span(1, 18, 21, "340", 8.0, 1.0)]
    a = _decide(spans, [old, new], CURRENT)
    assert a.answer == "340"
    assert [o["answer"] for o in a.over_time] == ["340", "120"] and a.over_time[0]["date"] == "2011-07-01"
    assert [c.article_id for c in a.citations] == ["new"]
    assert new.passage[a.citations[0].answer_start - new.passage_start:a.citations[0].answer_end] == "340"
    # the confidence shown is the shown span's own (margin 7), not the best span's (margin 8)
    assert a.confidence == pytest.approx(RULE.calibration.probability(7.0, 0.0)) and a.margin == 7.0


def test_a_current_state_is_the_newest_articles_answer_not_the_surer_or_a_middle_one():
    old = _cite("old", "2011-06-01", "The count reached 120 on Monday.")
    mid = _cite("mid", "2011-07-01", "The count reached 230 on Friday.")
    new = _cite("new", "2011-08-01", "The count reached 340 on Friday.")
    spans = [Span(0, 18, 21, "120", 9.0, 1.0), Span(1, 18, 21, "230", 8.5, 1.0), Span(2, 18, 21, "340", 8.0, 1.0)]
    a = _decide(spans, [old, mid, new], CURRENT)
    assert a.answer == "340" and a.citations[0].article_id == "new"


def test_a_fixed_fact_question_is_not_switched_to_the_newest_article():
    old = _cite("old", "2011-06-01", "The bridge was built by Arup in 1990.")
    new = _cite("new", "2011-07-01", "The repairs were made by Costain last week.")
    spans = [Span(0, 24, 28, "Arup", 9.0, 1.0), Span(1, 25, 32, "Costain", 6.0, 1.0)]
    a = _decide(spans, [old, new], FIXED)
    assert a.answer == "Arup" and a.over_time == [] and a.citations[0].article_id == "old"
    assert _decide(spans, [old, new], TimeAsk("event")).answer == "Arup"


def test_a_period_question_takes_that_periods_answer():
    p = question_period("What was the count in June 2011?")
    june = _cite("june", "2011-06-01", "The count reached 120 on Monday.")
    july = _cite("july", "2011-07-01", "The count reached 340 on Friday.")
    spans = [Span(0, 18, 21, "340", 9.0, 1.0), Span(1, 18, 21, "120", 8.0, 1.0)]
    a = decide("q", "q", spans, [july, june], RULE, TimeAsk("period", p), True)
    assert a.answer == "120" and a.period == "2011-06"


def test_a_period_question_skips_what_that_periods_article_says_was_before():
    p = question_period("In June 2024, when was the quay expected to reopen?")
    june = _cite("june", "2024-06-25", "It had been expected by mid-June; it is now due in early September.")
    i, j = june.passage.index("mid-June"), june.passage.index("early September")
    spans = [Span(0, i, i + 8, "mid-June", 9.0, 1.0), Span(0, j, j + 15, "early September", 8.0, 1.0)]
    a = decide("q", "q", spans, [june], RULE, TimeAsk("period", p), True)
    assert a.answer == "early September"


def test_a_period_question_whose_articles_do_not_answer_is_declined_not_answered_from_another_time():
    p = question_period("Who was running it in December 2023?")
    dec = _cite("dec", "2023-12-15", "The strike went on; managers met union leaders.")
    feb = _cite("feb", "2024-02-02", "The board named Ann Lee chief executive on Thursday.")
    k, n = dec.passage.index("managers"), feb.passage.index("Ann Lee")
    spans = [Span(1, n, n + 7, "Ann Lee", 9.0, 1.0), Span(0, k, k + 8, "managers", 1.0, 1.0)]
    a = decide("q", "q", spans, [dec, feb], RULE, TimeAsk("period", p), True)
    assert a.answer is None and a.confidence == pytest.approx(RULE.calibration.probability(0.0, 0.0))


def test_a_period_question_takes_the_state_last_reported_before_the_period_ended():
    p = question_period("How large was the fund in May 2025?")
    march = _cite("march", "2025-03-25", "The fund was increased to $20 million on Monday.")
    may = _cite("may", "2025-05-20", "Survivors met the company; the fund was mentioned.")
    july = _cite("july", "2025-07-29", "The fund was raised to $28 million on Friday.")
    i, j = march.passage.index("$20 million"), july.passage.index("$28 million")
    spans = [Span(2, j, j + 11, "$28 million", 9.0, 1.0), Span(0, i, i + 11, "$20 million", 8.0, 1.0)]
    a = decide("q", "q", spans, [march, may, july], RULE, TimeAsk("period", p), True)
    assert a.answer == "$20 million" and a.citations[0].article_id == "march"


def test_a_current_state_is_declined_when_a_later_article_may_say_otherwise():
    old = _cite("old", "2011-06-01", "The plant reopened at 60% of capacity.")
    new = _cite("new", "2011-07-01", "Output has since climbed to 85% of capacity.")
    i, j = old.passage.index("60%"), new.passage.index("85%")
    unsure = [Span(0, i, i + 3, "60%", 8.0, 1.0), Span(1, j, j + 3, "85%", 2.5, 1.0)]  # P(85%) = 0.38: doubt, not an answer
    a = _decide(unsure, [old, new], CURRENT)
    assert a.answer is None and a.confidence == pytest.approx(RULE.calibration.probability(1.5, 0.0))
    assert a.declined == "changed later" and [c.article_id for c in a.sources] == ["new", "old"]  # both shown, newest first
    faint = [Span(0, i, i + 3, "60%", 8.0, 1.0), Span(1, j, j + 3, "85%", 0.5, 1.0)]  # P = 0.18: no doubt
    assert _decide(faint, [old, new], CURRENT).answer == "60%"


def test_a_former_holder_is_not_the_current_one():
    old = _cite("old", "2011-06-01", "Chief executive Ann Lee said sales rose.")
    new = _cite("new", "2011-07-01", "The former chief executive Bob Hart said nothing.")
    spans = [Span(0, 16, 23, "Ann Lee", 9.0, 1.0), Span(1, 27, 35, "Bob Hart", 8.0, 1.0)]
    assert _decide(spans, [old, new], CURRENT).answer == "Ann Lee"


@pytest.mark.parametrize("passage,name,past", [
    ("The board named Ann Lee as its chief executive, replacing Bob Hart.", "Bob Hart", True),
    ("The board named Ann Lee as its chief executive, replacing Bob Hart.", "Ann Lee", False),
    ("Bob Hart, who was dismissed in November, has sued.", "Bob Hart", True),
    ("Bob Hart resigned as director on Wednesday.", "Bob Hart", True),
    ("The line, which was first due to open on 4 December, is late.", "4 December", True),
    ("The toll, which stood at 27 last week, has risen.", "27", True),
    ("The minister said the stockpile had risen to 520,000 doses.", "520,000", False),  # what is said now
    ("The stockpile had risen to 520,000 doses by May.", "520,000", True),
])
def test_words_around_a_value_say_it_is_past(passage, name, past):
    i = passage.index(name)
    assert said_as_past(passage[:i], passage[i + len(name):]) is past


def test_a_replaced_holder_is_not_the_current_one():
    old = _cite("old", "2011-06-01", "Chief executive Bob Hart said sales rose.")
    new = _cite("new", "2011-07-01", "The board named Ann Lee chief executive, replacing Bob Hart, who was dismissed.")
    i, j = new.passage.index("Ann Lee"), new.passage.index("Bob Hart")
    spans = [Span(0, 16, 24, "Bob Hart", 9.0, 1.0), Span(1, j, j + 8, "Bob Hart", 8.5, 1.0), Span(1, i, i + 7, "Ann Lee", 7.0, 1.0)]
    assert _decide(spans, [old, new], CURRENT).answer == "Ann Lee"


def test_a_figure_and_the_one_it_changed_from_answer_with_the_new_one():
    passage = "The number on strike rose to 8,100 from 6,400 on Monday."
    i = passage.index("8,100")
    a = _decide([Span(0, i, i + 16, "8,100 from 6,400", 9.0, 1.0)], [_cite("a", "2011-07-01", passage)], FIXED)
    assert a.answer == "8,100" and a.evidence.text[a.evidence.answer_start:a.evidence.answer_end] == "8,100"


def test_a_current_state_said_only_as_past_is_not_given():
    a_ = _cite("a", "2011-06-01", "Its record fee stood at £9.5 million until Friday, when it paid £22 million.")
    spans = [Span(0, 24, 36, "£9.5 million", 9.0, 1.0), Span(0, 64, 75, "£22 million", 1.0, 1.0)]
    b = _cite("b", "2011-07-01", "The club kept its manager.")
    a = _decide(spans, [a_, b], CURRENT)
    assert a.answer is None and a.declined == "low confidence"  # the stale £9.5 million is not shown


def test_an_event_question_takes_the_state_at_the_events_first_report():
    first = _cite("first", "2011-06-01", "Twelve died when the ferry sank; 12 people were lost.")
    later = _cite("later", "2011-07-01", "The toll has risen to 41, officials said.")
    spans = [Span(1, 26, 28, "41", 9.0, 1.0), Span(0, 37, 39, "12", 8.0, 1.0)]
    a = _decide(spans, [first, later], TimeAsk("event", event="when the ferry sank", event_date="2011-06-01"))
    assert a.answer == "12" and a.over_time == []
    assert _decide(spans, [first, later], TimeAsk("event", event="when the ferry sank")).answer == "41"  # no date found: best


def test_passages_of_an_evolving_story_are_judged_by_the_story_rule():
    strict = Rule(Calibration(1.0, -6.0, 0.0, "logistic"), 0.5, 2.0)  # P = 0.5 at margin 6
    rule = Rule(RULE.calibration, RULE.min_confidence, RULE.threshold, story=strict)
    june = _cite("june", "2011-06-01", "The count reached 120 on Monday.")
    july = _cite("july", "2011-07-01", "The ferry sailed on Friday.")
    spans = [Span(0, 18, 21, "120", 5.0, 1.0)]
    story = decide("q", "q", spans, [june, july], rule, FIXED)  # two dates: one story over time
    assert story.answer is None and story.confidence == pytest.approx(strict.calibration.probability(4.0, 0.0))
    single = decide("q", "q", spans, [june, _cite("june2", "2011-06-01")], rule, FIXED)  # one date: the general rule
    assert single.answer == "120" and single.confidence == pytest.approx(RULE.calibration.probability(4.0, 0.0))


def test_a_current_state_that_a_newer_article_read_does_not_give_is_never_shown_as_sure():
    story = Rule(RULE.calibration, RULE.min_confidence, RULE.threshold, newer_ceiling=0.7)
    rule = Rule(RULE.calibration, RULE.min_confidence, RULE.threshold, story=story)
    old = _cite("old", "2011-06-01", "The count reached 120 on Monday.")
    new = _cite("new", "2011-07-01", "The ferry sailed on Friday.")
    spans = [Span(0, 18, 21, "120", 9.0, 1.0)]  # margin 8, P = 0.998: the reader is sure of the old figure's span
    a = decide("q", "q", spans, [old, new], rule, CURRENT)
    assert a.answer == "120" and a.confidence == pytest.approx(0.7) and a.newer_read == "2011-07-01"
    assert newer_note(a) == ("Said on 1 June 2011; a newer article (1 July 2011) does not confirm it, so it may have "
                             "changed since.")
    # The newest article read gives it, or the question is not about a state now: the reader's own probability.
    newest = decide("q", "q", spans, [old, _cite("older", "2011-05-01", "The ferry sailed on Friday.")], rule, CURRENT)
    assert newest.answer == "120" and newest.confidence == pytest.approx(RULE.calibration.probability(8.0, 0.0))
    assert newest.newer_read is None and newer_note(newest) is None
    fixed = decide("q", "q", spans, [old, new], rule, FIXED)
    assert fixed.confidence == pytest.approx(RULE.calibration.probability(8.0, 0.0)) and fixed.newer_read is None


def test_asked_when_a_day_within_the_best_answers_month_is_preferred():
    recap = _cite("recap", "2025-03-01", "Brennecke resigned in February over the chip.")
    first = _cite("first", "2025-02-14", "Brennecke resigned on Wednesday, the board said.")
    spans = [Span(0, 22, 30, "February", 9.0, 1.0), Span(1, 22, 31, "Wednesday", 8.0, 1.0)]
    when = time_ask("When did Brennecke resign?")
    a = _decide(spans, [recap, first], when)
    assert when.asks_when and a.answer == "Wednesday" and a.answer_date == "2025-02-12"
    later = _cite("later", "2025-03-14", "He spoke on Wednesday at the hearing.")  # a day outside February: not it
    spans = [Span(0, 22, 30, "February", 9.0, 1.0), Span(1, 12, 21, "Wednesday", 8.0, 1.0)]
    assert _decide(spans, [recap, later], when).answer == "February"


def test_one_answer_or_one_date_is_not_a_change_over_time():
    a1 = _cite("a1", "2011-06-01", "The count reached 120 on Monday.")
    a2 = _cite("a2", "2011-06-01", "The count reached 340 on Friday.")
    same_day = [Span(0, 18, 21, "120", 9.0, 1.0), Span(1, 18, 21, "340", 8.0, 1.0)]
    assert _decide(same_day, [a1, a2], CURRENT).over_time == []
    b = _cite("b", "2011-07-01", "The count reached 340 on Friday.")
    weak = [Span(0, 18, 21, "120", 9.0, 1.0), Span(1, 18, 21, "340", 1.0, 1.0)]  # P = 0.27: not an answer, no doubt
    a = _decide(weak, [a1, b], CURRENT)
    assert a.answer == "120" and a.over_time == []


def test_a_declined_question_keeps_the_best_candidates_probability():
    c = _cite("x", "2011-07-04", "Nothing here answers it.")
    a = _decide([Span(0, 0, 7, "Nothing", 1.0, 0.0)], [c], FIXED)
    assert a.answer is None and a.confidence == pytest.approx(RULE.calibration.probability(1.0, 0.0))


def test_the_date_a_relative_answer_means():
    c = _cite("x", "2011-07-04", "Rasmussen spoke on Monday in Sochi.")
    assert _decide([Span(0, 19, 25, "Monday", 9.0, 1.0)], [c], FIXED).answer_date == "2011-07-04"
    c.date = ""
    assert _decide([Span(0, 19, 25, "Monday", 9.0, 1.0)], [c], FIXED).answer_date is None


@pytest.mark.parametrize("question,kind", [
    ("How many people have died?", "current"),
    ("Who is the chief executive of Veltrix?", "current"),
    ("How much does a crossing cost now?", "current"),
    ("What is the latest death toll?", "current"),
    ("When is the bridge now expected to open?", "current"),            # "now" outweighs "When"
    ("How many people are still missing after the floods?", "current"),  # ... and an event clause
    ("Who was chief executive when the inquiry opened?", "event"),
    ("How many people have died as a result of the leak?", "current"),  # "as a result of" is no event
    ("How many people were still in shelters when the governor resigned?", "event"),  # "still", then
    ("Who chairs the electoral commission?", "current"),
    ("How many people died when the ferry sank?", "event"),
    ("When did the ferry capsize?", "fixed"),
    ("Who built the ferry?", "fixed"),
    ("Why did the chief executive resign?", "fixed"),
    ("What was the death toll in April 2024?", "period"),
    ("Who was chief executive since 2010?", "period"),
    # What is to come is expected, and later articles revise it: the expectation now.
    ("When will the road reopen?", "current"),
    ("When is the inquiry expected to report?", "current"),
    ("How much will it cost to rebuild the dam?", "current"),
    ("When was the bridge due to open?", "fixed"),
    ("When would she have been able to compete again?", "fixed"),
])
def test_what_a_question_asks_about_time(question, kind):
    assert time_ask(question, date(2026, 11, 28)).kind == kind


@pytest.mark.parametrize("question,iso,inside,outside", [
    ("What has the toll been since 2010?", "2010/..", "2024-01-01", "2009-12-31"),  # from then on, not 2010 alone
    ("Who led the company before June 2024?", "../2024-05-31", "2019-05-31", "2024-06-01"),
    ("Who led it after March 2024?", "2024-04-01/..", "2024-04-01", "2024-03-31"),
    ("What happened between March and May 2024?", "2024-03/2024-05", "2024-05-31", "2024-06-01"),
])
def test_open_and_closed_periods(question, iso, inside, outside):
    p = question_period(question, today=date(2026, 11, 28))
    assert p.iso == iso and p.holds(inside) and not p.holds(outside)


def test_a_month_without_a_year_is_placed_by_the_articles():
    p = question_period("What was the toll in April?", today=date(2026, 11, 28), dates=[date(2024, 4, 3), date(2024, 6, 1)])
    assert p.iso == "2024-04"
    p = question_period("Who led it in March?", today=date(2026, 11, 28), dates=[date(2025, 2, 13), date(2025, 7, 24)])
    assert p.iso == "2025-03"  # no article of March: the latest March up to the newest article, not today's year
    assert describe("2010/..") == "since 2010" and describe("2024-03/2024-05") == "March 2024 to May 2024"


# --- the real engine on small dated articles -------------------------------------------------------------

ARTICLES = {
    "bridge.txt": "Harbor bridge opens to traffic\n\nPosted March 10, 2010\n\n"
                  "The new harbor bridge in Port Vell opened to traffic on Monday, the city council said. "
                  "The bridge cost 40 million euros and took three years to build.\n",
    "flu-june.txt": "Flu cases climb in Springfield\n\nPosted June 1, 2011\n\n"
                    "Health officials said the number of flu cases in Springfield has reached 120. "
                    "Schools remain open.\n",
    "flu-july.txt": "Flu outbreak grows in Springfield\n\nPosted July 1, 2011\n\n"
                    "Health officials said the number of flu cases in Springfield has reached 340. "
                    "Two schools have closed.\n",
    # The 2009 article is worded least like the question: only a search wider than top_k finds it.
    "regatta-2009.txt": "Sailing results\n\nPosted August 20, 2009\n\n"
                        "The harbour's summer regatta was won by the sailor Marta Puig after a close final race.\n",
    **{f"regatta-{y}.txt": f"Who won the Port Vell regatta\n\nPosted August {d}, {y}\n\n"
                           f"The Port Vell regatta was won by the sailor {name} after a close final race.\n"
       for y, d, name in [(2010, 19, "Pau Vidal"), (2011, 18, "Nuria Roca"), (2013, 17, "Oriol Sala")]},
    "regatta-2012.txt": "Port Vell regatta\n\nPosted August 21, 2012\n\n"
                        "The Port Vell regatta was won by the sailor Joan Ferrer after a close final race.\n",
}


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    from qa import Engine

    tmp = tmp_path_factory.mktemp("news")
    arts = tmp / "articles"
    arts.mkdir()
    for name, text in ARTICLES.items():
        (arts / name).write_text(text)
    engine = Engine()
    engine.config.index_dir = str(tmp / "index")
    engine.config.articles_dir = str(arts)
    engine.index(arts)
    return engine


@needs_reader
def test_engine_gives_the_calendar_date_of_a_relative_answer(dated):
    a = dated.ask("When did the harbor bridge open to traffic?")
    assert "Monday" in a.answer and a.answer_date == "2010-03-08"
    # the answer's place in the .txt file itself, past the title and 'Posted' lines
    c = a.citations[0]
    file_text = ARTICLES["bridge.txt"]
    assert file_text[c.file_answer_start:c.file_answer_end] == a.answer and c.file_answer_start > c.answer_start


@needs_reader
def test_engine_says_when_the_figure_changed_newest_first(dated):
    a = dated.ask("How many flu cases are there in Springfield?")
    assert a.answer == "340"
    assert [(o["answer"], o["date"]) for o in a.over_time] == [("340", "2011-07-01"), ("120", "2011-06-01")]
    assert a.citations[0].article_id == "flu-july.txt"


@needs_reader
def test_a_question_searched_twice_is_embedded_once(dated):
    """A current state searches shallow, then deeper for the newest article: one forward pass for the question."""
    question = "How many cases of flu are there now in Springfield?"
    encoded, encode = [], dated.embedder._encode
    dated.embedder._encode = lambda texts, *a: encoded.append(list(texts)) or encode(texts, *a)
    try:
        a = dated.ask(question)
    finally:
        del dated.embedder._encode
    assert a.time_kind == "current" and a.answer == "340"
    assert encoded.count([question]) == 1
    assert np.array_equal(dated.embedder.embed([question]), encode([question], False))  # kept as computed


@needs_reader
def test_engine_prefers_articles_of_the_period_the_question_names(dated):
    a = dated.ask("Who won the Port Vell regatta in 2009?")
    assert a.period == "2009" and "Marta Puig" in a.answer
    b = dated.ask("Who won the Port Vell regatta in 2012?")
    assert b.period == "2012" and "Joan Ferrer" in b.answer and "Puig" not in b.answer


@needs_reader
def test_cli_shows_and_exports_the_answer_date(dated):
    from test_cli import qa

    r = qa("ask", "When did the harbor bridge open to traffic?", "--index", dated.config.index_dir,
           "--articles", dated.config.articles_dir)
    assert r.returncode == 0, r.stderr
    assert "Monday — 8 March 2010" in r.stdout
    start = ARTICLES["bridge.txt"].index("Monday")
    assert f"in the file {start}-{start + len('Monday')}" in r.stdout
    r = qa("ask", "When did the harbor bridge open to traffic?", "--index", dated.config.index_dir, "--json",
           "--articles", dated.config.articles_dir)
    data = json.loads(r.stdout)
    assert data["answer_date"] == "2010-03-08" and data["over_time"] == [] and data["period"] is None
    c = data["citations"][0]
    assert c["passage_number"] == 1 and ARTICLES["bridge.txt"][c["file_answer_start"]:c["file_answer_end"]] == data["answer"]


def test_a_relative_posted_date_is_kept_when_the_file_is_touched(tmp_path):
    import os

    from qa import Engine

    arts = tmp_path / "articles"
    arts.mkdir()
    f = arts / "fresh.txt"
    f.write_text("Storm closes the harbour\n\nPosted 3 hours ago\n\nThe harbour closed on Monday as a storm passed.\n")
    first = datetime(2024, 3, 12, 18, 0).timestamp()
    os.utime(f, (first, first))
    engine = Engine()
    engine.config.index_dir = str(tmp_path / "index")
    engine.config.articles_dir = str(arts)
    report = engine.index(arts)
    assert report.added == ["fresh.txt"] and engine.article("fresh.txt").date == "2024-03-12"
    later = datetime(2024, 3, 20, 9, 0).timestamp()  # touched a week later: "3 hours ago" now means 20 March
    os.utime(f, (later, later))
    report = engine.index(arts)
    assert report.unchanged == ["fresh.txt"] and not report.changed and report.embedded == 0
    assert engine.article("fresh.txt").date == "2024-03-12"
    engine.index(arts, rebuild=True)  # a rebuild keeps it too
    assert engine.article("fresh.txt").date == "2024-03-12"
    f.write_text(f.read_text() + "\nThe port reopened on Tuesday.\n")  # a real edit: dated afresh
    os.utime(f, (later, later))
    report = engine.index(arts)
    assert report.changed == ["fresh.txt"] and engine.article("fresh.txt").date == "2024-03-20"
