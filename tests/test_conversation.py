"""Follow-up resolution (no models): which questions lean on the conversation, and what they are rewritten to."""

import pytest

from qa.conversation import Turn, as_turn, choose_reading, readings, unbound_pronoun

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
    assert choose_reading([asked, rewrite]) == 0  # a good question is not spoiled by a rewrite the reader is less sure of
    assert choose_reading([answer("x", 1.0, "q"), answer("y", 4.0, "r1"), answer("z", 3.0, "r2")]) == 1
    assert choose_reading([answer("x", 3.0, "q"), answer("y", 3.0, "r")]) == 0  # a tie: as asked
    declined = [answer(None, -1.0, "How old is he?"), answer(None, -3.0, "How old is Jalil?")]
    assert choose_reading(declined) == 1  # nothing answered: the rewrite says how it was read
    assert choose_reading([answer(None, 5.0, "q"), answer("y", 1.0, "r")]) == 1  # an answer beats a declined reading
    assert choose_reading([answer("x", 1.0, "q")]) == 0


# Referents that fit (issue 22): "he"/"she" only a person, "it" never a person, "they" never one person;
# roles are referents; names are matched as whole words.

def rewrites(question, *history):
    """Every rewritten reading (the engine tries each), newest referent first."""
    return [r.question for r in readings(question, list(history))[1:]]


def test_he_after_a_role_is_that_role_not_the_mayor_said_before():
    # after "When did <the former chief executive> resign?", "him" is not the town's mayor
    mayor = Turn("Who was suspended as mayor of Brackenford?", "Desmond Halloway")
    resigned = Turn("When did the former chief executive of Veltrix resign?", "February")
    assert rewrite("Who replaced him?", mayor, resigned) == "Who replaced the former chief executive of Veltrix?"
    assert rewrite("Who is he?", Turn("Which company is owned by the mayor's brother-in-law?", "Ravelin Construction")) \
        == "Who is the mayor's brother-in-law?"
    assert rewrite("Which role did she return to?", Turn("When did Veltrix's interim chief executive speak?", "Monday")) \
        == "Which role did Veltrix's interim chief executive return to?"
    # a title before a name is the name's ("chief executive Harald Brennecke"); "his lawyer" is nobody yet
    assert rewrite("When did he resign?", Turn("What did chief executive Harald Brennecke say?", None)) \
        == "When did Harald Brennecke resign?"
    assert rewrite("When did he resign?", Turn("Who was his lawyer?", None)) is None
    # "Who is the spokesman?" "Musa Ibrahim": the role is the answer, not a second referent
    assert rewrites("What did he say?", Turn("Who is the government spokesman?", "Musa Ibrahim")) == ["What did Musa Ibrahim say?"]
    assert rewrites("When did he join?", Turn("Who is the CEO of Apple?", "Tim Cook")) == ["When did Tim Cook join?"]


def test_he_is_never_a_company():
    # after an answer naming a person, "he" is that person, never the company that named him
    named = Turn("Who did Veltrix name as chief executive?", "Tomasz Reinholt, the chief operating officer of rival Kelvane Systems")
    assert rewrites("When was he appointed?", named) == ["When was Tomasz Reinholt appointed?", "When was Veltrix appointed?"]
    scrapped = Turn("Which company scrapped the Aurora chip?", "Veltrix Semiconductor")
    assert rewrites("When was he appointed?", scrapped, named) == ["When was Tomasz Reinholt appointed?"]  # Veltrix is a company
    # a company's name, its "its" or what it has, or its kind of name, is not "he"
    assert rewrite("When was he appointed?", Turn("Who did Veltrix name as its chief executive?", None)) is None
    assert rewrite("When did he start?", Turn("Who is Kelvane's chief operating officer?", None)) \
        == "When did Kelvane's chief operating officer start?"  # the officer, not Kelvane
    assert rewrite("What did he say?", Turn("Who does Marcus Feld work for?", "Hollis Grant Securities")) == "What did Marcus Feld say?"
    assert rewrite("When did he join?", Turn("Which rival did Brenn Okoro leave?", "Kelvane Systems")) == "When did Brenn Okoro join?"


def test_it_is_never_a_person():
    assert rewrite("Where is it based?", Turn("Who is Kelvane's chief operating officer?", "Tomasz Reinholt")) \
        == "Where is Kelvane based?"
    assert rewrite("When did it cancel its orders?", Turn("Who was the chip's biggest customer?", "Norhaven Cloud")) \
        == "When did Norhaven Cloud cancel its orders?"
    assert rewrite("Where is it based?", Turn("Who is the harbour master?", "Daniel Okri")) is None


def test_they_are_people_or_an_organisation_never_one_person():
    assert rewrite("What did they decide?", Turn("Who chairs the Harbour Authority?", "Ruth Alder")) \
        == "What did the Harbour Authority decide?"
    assert rewrite("What do they claim?", Turn("Who filed the lawsuit?", "Harald Brennecke")) is None
    assert rewrite("What did they seize?", Turn("Who searched Brackenford City Hall?", "State investigators")) \
        == "What did State investigators seize?"  # and never City Hall itself
    assert rewrite("What did they seize?", Turn("When did investigators search City Hall?", "Monday")) \
        == "What did investigators seize?"
    assert rewrite("When did they perform?", Turn("Who were the special guests?", "Beyoncé and Bruno Mars")) \
        == "When did Beyoncé and Bruno Mars perform?"


@pytest.mark.parametrize("question,history,expected", [
    # a short name inside a longer word is not said by the question: "Ali" / "Mali", "US" / "status",
    # "Al" / "Khalid", "Ng" / "during"
    ("When did she visit Mali?", [Turn("What did minister Ali sign?", None)], "When did Ali visit Mali?"),
    ("What did it say about the status of the deal?", [Turn("Which country's embassy hosted the talks?", "US")],
     "What did the US say about the status of the deal?"),
    ("Did he meet Khalid Osman?", [Turn("What did Al say about the deal?", None)], "Did Al meet Khalid Osman?"),
    ("What did he say during the crossing?", [Turn("What did harbour master Ng report?", None)],
     "What did Ng say during the crossing?"),
    # said as a whole word, it still is: "Ali" is not what "she" stands for in a question about Ali
    ("Did she meet Ali?", [Turn("Who met Ali?", "Fatou Keita")], "Did Fatou Keita meet Ali?"),
])
def test_names_are_matched_as_whole_words(question, history, expected):
    assert rewrite(question, *history) == expected
