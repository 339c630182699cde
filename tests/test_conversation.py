"""Follow-up resolution (no models): which questions lean on the conversation, and what they are rewritten to."""

import pytest

from qa.conversation import Turn, as_turn, choose, readings, unbound_pronoun

TNC = Turn("Who heads the TNC?", "Mustafa Abdel Jalil")
RESIGN = Turn("When did Mustafa Abdel Jalil resign from Libya's government?", "February")
NATO = Turn("Who is the NATO Secretary-General?", "Anders Fogh Rasmussen")
MERKEL = Turn("Who is the German chancellor?", "Angela Merkel")
CHANNEL = Turn("Which TV channel did Saif al-Islam Gadhafi talk to?", "TF1")
CITY = Turn("Which city did Anders Fogh Rasmussen visit?", "Sochi")


def rewrite(question, *history):
    """The rewritten reading, or None when the question is read only as asked."""
    rs = readings(question, list(history), max_rewrites=1)
    assert rs[0].question == question and not rs[0].rewritten  # the question as asked always comes first
    return rs[1].question if len(rs) > 1 else None


@pytest.mark.parametrize("question,history,expected", [
    ("When did he resign?", [TNC], "When did Mustafa Abdel Jalil resign?"),
    # a date is never "he": the person the previous question was about is
    ("Why did he resign?", [TNC, RESIGN], "Why did Mustafa Abdel Jalil resign?"),
    # "her" as an object, not a possessive
    ("Did the rebels ask her for help?", [MERKEL], "Did the rebels ask Angela Merkel for help?"),
    ("What did her party say?", [MERKEL], "What did Angela Merkel's party say?"),
    ("What was his position?", [Turn("Where did Anders Fogh Rasmussen go?", None)], "What was Anders Fogh Rasmussen's position?"),
    # a place and a TV channel are never "he": the person named in the question is
    ("Who did he meet there?", [CITY], "Who did Anders Fogh Rasmussen meet there?"),
    ("What did he tell it?", [CHANNEL], "What did Saif al-Islam Gadhafi tell it?"),
    # "it" is never a person: the TV channel is
    ("Where is it based?", [CHANNEL], "Where is TF1 based?"),
    ("Who leads it?", [Turn("Which body represents the rebels in diplomacy?", "the Transitional National Council")],
     "Who leads the Transitional National Council?"),
    # a possessive ends a name; an entity the question names itself is not its pronoun
    ("For how long did he hire Tesla?", [Turn("Who licensed Tesla's AC induction motor?", "George Westinghouse")],
     "For how long did George Westinghouse hire Tesla?"),
    # "British" is an adjective, not a name; a band answering "Which ... group" is "their"
    ("Who were their special guests?", [Turn("Which British rock group headlined the halftime show?", "Coldplay")],
     "Who were Coldplay's special guests?"),
    ("Where are its offices?", [Turn("Which company won the contract?", "Clearline Utilities")],
     "Where are Clearline Utilities' offices?"),
    # the newest fitting entity wins
    ("What did he say?", [TNC, NATO], "What did Anders Fogh Rasmussen say?"),
    # questions of one word, or a new subject, made whole from the previous question
    ("Why?", [RESIGN], "Why did Mustafa Abdel Jalil resign from Libya's government?"),
    ("What about France?", [Turn("Who is Russia's foreign minister?", "Sergei Lavrov")], "Who is France's foreign minister?"),
])
def test_follow_up_resolved_to_an_entity_of_a_fitting_kind(question, history, expected):
    assert rewrite(question, *history) == expected


@pytest.mark.parametrize("question", [
    "What did NATO say about its mission?",           # "its" is NATO
    "What did the alliance say about its mission?",    # "its" is the alliance
    "Did Angela Merkel say her party agreed?",          # "her" is Merkel
    "What did President Medvedev tell his guests?",    # "his" is Medvedev
    "What did the rebels say about their leadership?", # "their" is the rebels
    "In his speech, what did Rasmussen defend?",       # the referent comes after the pronoun's clause
    "How long did it take?",                           # "it" refers to nothing
    "Who is Russia's foreign minister?",                # no pronoun at all
    "Which TV channel did Saif al-Islam Gadhafi talk to?",
])
def test_question_that_stands_alone_is_read_as_asked(question):
    assert unbound_pronoun(question) is None or question.startswith("How long")
    assert rewrite(question, TNC, NATO) is None


def test_no_fitting_entity_no_rewrite():
    # the conversation holds only a date and a number: nothing can be "he"
    assert rewrite("When did he resign?", Turn("When did the talks start?", "two months ago")) is None
    assert rewrite("When did he resign?") is None  # no conversation at all


def test_elliptical_follow_up_retrieves_with_the_previous_question():
    rs = readings("Why?", [RESIGN])
    assert RESIGN.question in rs[1].query and rs[1].rewritten


def test_history_may_hold_answers_turns_or_dicts():
    from qa.engine import Answer

    earlier = Answer("When did he resign?", "February", 5.0, 0.9, resolved_question="When did Jalil resign?")
    assert as_turn(earlier) == Turn("When did Jalil resign?", "February")  # the resolved question, not as typed
    assert as_turn({"question": "Who heads the TNC?", "answer": "Jalil"}) == Turn("Who heads the TNC?", "Jalil")
    assert as_turn({"question": "Who?", "answer": None}).answer is None
    with pytest.raises(ValueError, match="question"):
        as_turn({"role": "user", "content": "hi"})
    assert rewrite("Why did he resign?", earlier) == "Why did Jalil resign?"


def test_the_reading_the_reader_is_surer_of_is_kept():
    from qa.engine import Answer

    def answer(text, margin, reading):
        return Answer("What did he say?", text, margin, 0.5, resolved_question=reading)

    asked, rewrite = answer("no common understanding", 6.0, "What did he say?"), answer("Sochi", 2.0, "What did Lavrov say?")
    assert choose([asked, rewrite]) == 0  # a good question is not spoiled by a rewrite the reader is less sure of
    assert choose([answer("x", 1.0, "q"), answer("y", 4.0, "r1"), answer("z", 3.0, "r2")]) == 1
    assert choose([answer("x", 3.0, "q"), answer("y", 3.0, "r")]) == 0  # a tie: as asked
    declined = [answer(None, -1.0, "How old is he?"), answer(None, -3.0, "How old is Jalil?")]
    assert choose(declined) == 1  # nothing answered: the rewrite says how it was read
    assert choose([answer(None, 5.0, "q"), answer("y", 1.0, "r")]) == 1  # an answer beats a declined reading
    assert choose([answer("x", 1.0, "q")]) == 0
