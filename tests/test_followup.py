from qa.followup import Turn, needs_context, resolve


def test_pronoun_replaced_by_previous_answer():
    r = resolve("When did he resign?", [Turn("Who heads the rebel movement?", "Mustafa Abdel Jalil")])
    assert r.question == "When did Mustafa Abdel Jalil resign?" and r.changed


def test_possessive_and_entity_from_question_when_no_answer():
    r = resolve("What was his position?", [Turn("Where did Anders Fogh Rasmussen go?", None)])
    assert r.question == "What was Anders Fogh Rasmussen's position?"


def test_short_question_uses_previous_question_for_retrieval():
    r = resolve("And Lavrov?", [Turn("Who is Sergei Lavrov?", "Russian Foreign Minister")])
    assert "Who is Sergei Lavrov?" in r.query


def test_standalone_question_unchanged():
    q = "Who is the NATO Secretary-General?"
    assert resolve(q, [Turn("x", "y")]).question == q
    assert not needs_context(q)
    assert resolve("When did he resign?", []).question == "When did he resign?"
