"""Who said what (qa/quotes.py): quotations and their speakers, and "What did X say about Y?" answered with X's words."""

import math
from dataclasses import replace

import numpy as np
import pytest
from conftest import needs_reader

from qa import quotes
from qa.answers import Answer
from qa.articles import Article
from qa.retrieval import Citation, Source

PIT = (
    "THORNMERE (Wire) - Rescue teams worked through the night after part of the roof collapsed at Velsby Colliery.\n\n"
    "\u201cWe believe there is air in that part of the mine,\u201d said Brigid Tolland, head of the regional mine rescue "
    "service. \u201cEvery minute counts.\u201d\n\n"
    "Graymark chief executive Lionel Ashcombe arrived at the pit head early on Tuesday. \u201cOur whole company is "
    "focused on bringing these men home,\u201d he said.\n\n"
    "Gethin Rowe of the Colliery Workers' Federation said miners had raised concerns about the roof last year. "
    "Graymark said it was not aware of any complaint.\n"
)


def _find(found, speaker):
    return [q for q in found.quotes if q.speaker == speaker]


def test_direct_quotes_have_exact_offsets_speakers_and_descriptions():
    found = quotes.extract(PIT)
    for q in found.quotes:
        assert PIT[q.start:q.end] == q.text
    tolland = _find(found, "Brigid Tolland")
    assert [q.text for q in tolland if q.kind == "direct"] == ["We believe there is air in that part of the mine", "Every minute counts."]
    assert tolland[0].description == "head of the regional mine rescue service"
    assert tolland[0].group == tolland[1].group  # one utterance: the quote and its continuation
    assert "chief executive" in " ".join(found.people["Lionel Ashcombe"].descriptions)


def test_a_pronoun_speaker_is_the_person_the_paragraph_named_last_not_a_place():
    text = ("Harbourline chief executive Tom Reyes travelled to Kilbrannan with the ferry's captain, Idris Okafor, on Monday. "
            "\"Our thoughts are with every family,\" he said.\n\n"
            "Tom Reyes flew home to Kilbrannan. \"I will be back on Friday,\" he said.\n")
    found = quotes.extract(text)
    first, second = [q for q in found.quotes if q.kind == "direct"]
    assert first.speaker == "Idris Okafor" and first.said_as == "he"  # the last person named before "he said"
    assert second.speaker == "Tom Reyes"  # not Kilbrannan, named after him
    # The evidence reaches back to the sentence that names the speaker.
    assert text[second.context_start:second.context_end].startswith("Tom Reyes flew home")


def test_she_is_never_a_man_the_article_calls_mr():
    text = ("Mayor Dorothy Keane met Mr Tom Walsh at the docks. \"We will judge the plan on its merits,\" she said.\n")
    (q,) = quotes.extract(text).quotes
    assert q.speaker == "Dorothy Keane"


def test_a_quote_split_around_its_attribution_is_one_utterance_of_one_speaker():
    text = ("Okafor, 51, paused for several seconds. \u201cI have asked myself that every day since,\u201d he said, "
            "\u201cand I do not have a good answer.\u201d\n")
    parts = [q for q in quotes.extract(text).quotes if q.kind == "direct"]
    assert [p.text for p in parts] == ["I have asked myself that every day since", "and I do not have a good answer."]
    assert {p.speaker for p in parts} == {"Okafor"} and parts[0].group == parts[1].group


def test_straight_quotes_with_the_attribution_before_and_after():
    text = ('Nadia Fenwick, the survivor who speaks for the families, said: "Somebody was told."\n\n'
            '"Masters are under pressure to sail," said Callum Brodie of the Seafarers\' Union.\n')
    found = quotes.extract(text)
    assert [(q.speaker, q.text) for q in found.quotes] == [
        ("Nadia Fenwick", "Somebody was told."), ("Callum Brodie", "Masters are under pressure to sail")]
    assert found.quotes[0].description == "the survivor who speaks for the families"
    assert found.quotes[1].description == "of the Seafarers' Union"  # the person, not the union, is the speaker


def test_a_role_attribution_is_the_person_the_article_describes_so():
    text = ("EDINHOLM (Wire) - Tom Reyes, the former chief executive of Harbourline Ferries, gave evidence on Tuesday. "
            "Board chairman Malcolm Birtwhistle sat behind him.\n\n"
            "\"I accept that the system failed,\" the former chief executive said.\n")
    (q,) = [q for q in quotes.extract(text).quotes if q.kind == "direct"]
    assert q.speaker == "Tom Reyes" and q.said_as == "the former chief executive"


def test_a_role_no_one_in_the_article_has_is_not_the_speaker_quoted_before_but_is_resolved_across_articles():
    strike = Article("strike.md", "Strike talks", (
        "Moriarty said the union would meet the authority. "
        "The authority's chief executive said she was \"ready to talk at any hour.\"\n"), "2025-06-10", "strike.md")
    (talk,) = [q for q in quotes.extract(strike.text).quotes if q.kind == "direct"]
    assert talk.speaker == "" and talk.description == "The authority's chief executive"  # not Moriarty
    earlier = Article("walkout.txt", "Walkout", "The port authority's chief executive, Ingrid Solberg, said the offer was good.\n",
                      "2025-06-02", "walkout.txt")
    said = quotes.gather(quotes.QuoteAsk("Ingrid Solberg", "talks"), [earlier, strike])
    assert [s.speaker for s in said if s.quote.text.startswith("ready to talk")] == ["Ingrid Solberg"]
    assert [s.speaker for s in said if s.quote.text.startswith("the union would")] == ["Moriarty"]


def test_reported_speech_said_that_told_according_to_and_said_after():
    text = ("Counsel to the inquiry, Rupert Hale, showed him an email from March.\n\n"
            "Tom Reyes told the inquiry on Tuesday that no captain had ever raised overcrowding with him.\n\n"
            "Lumira Bank said on Monday that hackers had stolen the data of 1.2 million customers.\n\n"
            "According to the coastguard, the ferry had 212 people on board.\n\n"
            "Six men are still trapped, rescue chief Brigid Tolland said, and teams had heard tapping.\n")
    found = quotes.extract(text)
    got = {(q.speaker, q.text, q.kind) for q in found.quotes}
    assert ("Tom Reyes", "no captain had ever raised overcrowding with him", "reported") in got
    assert ("Lumira Bank", "hackers had stolen the data of 1.2 million customers", "reported") in got
    assert ("", "the ferry had 212 people on board", "reported") in got  # said by "the coastguard": no one named
    assert ("Brigid Tolland", "Six men are still trapped", "reported") in got
    assert not [q for q in found.quotes if q.speaker == "Rupert Hale"]  # "showed ... an email": not speech
    for q in found.quotes:
        assert text[q.start:q.end] == q.text


def test_a_quoted_fragment_inside_reported_speech_is_the_subjects():
    text = ("Russian Foreign Minister Sergei Lavrov said there is \u201cno common understanding\u201d about the resolution. "
            "He said Moscow wants the mandate fulfilled as worded.\n")
    found = quotes.extract(text)
    assert [(q.speaker, q.text, q.kind) for q in found.quotes] == [
        ("Sergei Lavrov", "no common understanding", "direct"),
        ("Sergei Lavrov", "Moscow wants the mandate fulfilled as worded", "reported")]
    assert "Russian Foreign Minister" in found.people["Sergei Lavrov"].descriptions


def test_a_scare_quote_is_no_ones_words():
    assert quotes.extract('The so-called "Velsby files" were handed to the inquiry on Monday.\n').quotes == []
    # Quoted words inside a sentence without a speaker are not the continuation of a nearby quote.
    text = ('The report, by the insurer Halvard Insurance, recommended that the alarms be replaced "as a matter of '
            'urgency." Halvard\'s spokesman, Magnus Reed, confirmed the report. "We made our recommendation in writing," '
            'Reed said.\n')
    assert [(q.speaker, q.text) for q in quotes.extract(text).quotes if q.kind == "direct"] == [
        ("Magnus Reed", "We made our recommendation in writing")]


def test_extraction_round_trips_as_plain_data_for_storing_at_index_time():
    found = quotes.extract(PIT)
    again = quotes.ArticleQuotes.from_dict(found.to_dict())
    assert again.quotes == found.quotes and again.people == found.people


def test_speaker_words_match_whole_words_of_names_and_descriptions():
    reyes = ("Tom Reyes", ["the former chief executive of Harbourline Ferries"])
    gallacher = ("Fiona Gallacher", ["Graymark chief executive"])
    assert quotes.speaker_match("the former chief executive", *reyes) == 1.0
    assert quotes.speaker_match("the former chief executive", *gallacher) == pytest.approx(2 / 3)
    assert quotes.speaker_match("Reyes", *reyes) == 1.0 and quotes.speaker_match("Mr Reyes", *reyes) == 1.0
    assert quotes.speaker_match("Ali", "Khalid Alim", ["a spokesman for Mali"]) == 0.0  # no word inside a word
    assert quotes.speaker_match("Tom Walsh", *reyes) == 0.5


def test_someone_described_by_whose_they_are_is_not_that_person():
    lawyer = ("Simone Carrow", ["Marensky's lawyer"])
    assert quotes.speaker_match("Marensky", *lawyer) == 0.0  # Marensky's lawyer is not Marensky
    assert quotes.speaker_match("Marensky's lawyer", *lawyer) == 1.0 and quotes.speaker_match("the lawyer", *lawyer) == 1.0
    assert quotes.speaker_match("the agency's director", "Henrik Asmussen", ["the agency’s director"]) == 1.0
    assert quotes.speaker_match("the agency", "Henrik Asmussen", ["the agency’s director"]) == 0.0
    text = ("LAUSTERN (Wire) - Luka Marensky was banned for four years on Tuesday.\n\n"
            "Marensky's lawyer, Simone Carrow, said her client would appeal. \"The ban is grossly disproportionate,\" she said.\n\n"
            "\"I will keep training every day,\" Marensky said.\n")
    said = quotes.gather(quotes.parse_question("What did Marensky say about his appeal?"), [Article("ban", "Rider banned", text, "", "ban.txt")])
    assert {s.speaker for s in said if s.match > 0} == {"Luka Marensky"}


@pytest.mark.parametrize("question,speaker,topic", [
    ("What did the former chief executive tell the inquiry about overcrowding?", "the former chief executive", "overcrowding"),
    ("What did Lavrov say?", "Lavrov", ""),
    ("How did Idris Okafor describe his decision?", "Idris Okafor", "his decision"),
    ("What was Priya Nandakumar's reaction to the delay?", "Priya Nandakumar", "the delay"),
    ("What has the mayor said about the stadium?", "the mayor", "the stadium"),
    ("What did the club owner say after the vote?", "the club owner", "after the vote"),
])
def test_quote_questions_are_read_for_speaker_and_topic(question, speaker, topic):
    ask = quotes.parse_question(question)
    assert ask is not None and (ask.speaker, ask.topic) == (speaker, topic)


@pytest.mark.parametrize("question", ["Who said the mine was safe?", "What did the company say caused the fire?",
                                      "How many miners were trapped?", "What did the inspectors find?"])
def test_other_questions_are_not_quote_questions(question):
    assert quotes.parse_question(question) is None


class _Words:
    """A stand-in embedder: bag-of-words vectors (unit length), enough to tell topics apart without a model."""

    def __init__(self):
        self.vocab: dict[str, int] = {}

    def embed(self, texts):
        out = np.zeros((len(texts), 512), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in quotes.words(t, quotes._TOPIC_STOP):
                out[i, self.vocab.setdefault(quotes.stem(w), len(self.vocab) % 512)] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


INQUIRY = Article("inquiry.txt", "Inquiry hears from Harbourline's former chief", (
    "EDINHOLM (Wire) - Tom Reyes, the former chief executive of Harbourline Ferries, gave evidence on Tuesday.\n\n"
    "\"If a master had told me his ship was overcrowded, I would have stopped that sailing myself,\" Reyes said. "
    "\"Nobody ever came to me with that.\"\n\n"
    "Board chairman Malcolm Birtwhistle told the inquiry that overcrowding had been discussed at board level only once. "
    "\"We were assured by management that the passenger limits on overcrowded sailings were being enforced,\" he said.\n\n"
    "Reyes said he regretted the timetable. \"The timetable was always too tight,\" the former chief executive said.\n"),
    "2025-05-06", "inquiry.txt")


def _plain(question: str, span: tuple[int, int] | None = None) -> Answer:
    """The engine's plain answer to a question: declined, or a span of INQUIRY."""
    c = Source(INQUIRY.id, INQUIRY.title, INQUIRY.date, INQUIRY.source, "", 1, 0, len(INQUIRY.text), INQUIRY.text)
    if span is None:
        return Answer(question, None, -1.0, 0.1, [], [c], question)
    return Answer(question, INQUIRY.text[span[0]:span[1]], 5.0, 0.7, [Citation.of(c, span[0], span[1])],
                  [c], question)


def _ask(question: str, span=None) -> Answer:
    return quotes.answer(quotes.parse_question(question), _plain(question, span), [INQUIRY], _Words())


def test_the_answer_is_the_asked_speakers_quote_on_the_topic_with_its_offsets_and_sentence():
    a = _ask("What did the former chief executive say about overcrowding?")
    assert a.answer.startswith("If a master had told me")
    c = a.citations[0]
    assert INQUIRY.text[c.answer_start:c.answer_end] == a.answer
    assert a.evidence.text[a.evidence.answer_start:a.evidence.answer_end] == a.answer and "Reyes said" in a.evidence.text
    assert 0.5 <= a.confidence <= 1 and a.margin == pytest.approx(math.log(a.confidence / (1 - a.confidence)))
    # The chairman's words are closer to "overcrowding" than some of Reyes's, and never shown for him.
    assert "assured" not in _ask("What did Tom Reyes say about overcrowded sailings?").answer


def test_the_topic_chooses_among_the_speakers_quotes():
    assert _ask("What did Reyes say about the timetable?").answer == "The timetable was always too tight"
    assert "assured by management" in _ask("What did Malcolm Birtwhistle say about the passenger limits?").answer


def test_a_speaker_quoted_on_other_things_only_is_declined_not_given_someone_elses_words():
    a = _ask("What did Malcolm Birtwhistle say about the ballast pumps?")
    assert a.answer is None and a.citations == [] and a.confidence < quotes.MIN_CONFIDENCE


def test_only_the_speakers_that_fit_best_are_candidates_however_close_another_is_to_the_topic():
    text = INQUIRY.text + ("\nGraymark chief executive Fiona Gallacher said overcrowding was a disgrace. "
                           "\"Overcrowding on overcrowded sailings must end,\" she said.\n")
    article = replace(INQUIRY, text=text)
    said = quotes.candidates(quotes.parse_question("What did the former chief executive say about overcrowding?"),
                             "", [article], _Words().embed)
    assert said and {s.speaker for s in said} == {"Tom Reyes"}  # Gallacher is a chief executive, not the former one
    everyone = quotes.candidates(quotes.parse_question("What did the former chief executive say about overcrowding?"),
                                 "", [article], _Words().embed, best_speakers_only=False)
    assert "Fiona Gallacher" in {s.speaker for s in everyone}


def test_a_plain_answer_inside_another_speakers_quote_is_declined():
    start = INQUIRY.text.index("We were assured")
    inside = (start, start + len("We were assured by management"))
    assert _ask("What did Rupert Hale say about management?", inside).answer is None  # Hale is never quoted
    narration = (INQUIRY.text.index("gave evidence"), INQUIRY.text.index("gave evidence") + len("gave evidence"))
    assert _ask("What did Rupert Hale say about evidence?", narration).answer == "gave evidence"  # nobody's words: kept


def test_a_pronoun_speaker_is_declined():
    assert _ask("What did he say about overcrowding?").answer is None


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from qa import Engine

    folder = tmp_path_factory.mktemp("quote-articles")
    (folder / "hearing.txt").write_text("Former Harbourline chief tells inquiry overcrowding was never raised\nPosted May 6, 2025\n\n"
                                        + INQUIRY.text.split(" - ", 1)[1])
    (folder / "captain.txt").write_text(
        "Corran Star captain says he was ordered to sail\nPosted May 13, 2025\n\n"
        "The captain of the Corran Star told the inquiry on Monday that he had been ordered to sail despite a gale warning.\n\n"
        "\u201cI told the shore office we were heavy and the weather was turning,\u201d said Captain Idris Okafor. "
        "\u201cThey told me the timetable came first.\u201d\n\n"
        "Harbourline's executive chairman Malcolm Birtwhistle said afterwards that the forecast had been within the ship's limits.\n")
    eng = Engine()
    eng.config.index_dir = str(tmp_path_factory.mktemp("quote-index") / "index")
    eng.config.articles_dir = str(folder)
    eng.index(folder)
    return eng


@needs_reader
def test_engine_answers_with_the_speakers_own_words_citing_the_quote(engine):
    a = engine.ask("What did the former chief executive tell the inquiry about overcrowding?")
    assert a.found and "stopped that sailing" in a.answer and a.confidence >= quotes.MIN_CONFIDENCE
    c = a.citations[0]
    article = engine.article(c.article_id)
    assert article.text[c.answer_start:c.answer_end] == a.answer and c.passage in article.text
    assert c.file_answer_start is not None  # a .txt article: located in the file too
    assert a.evidence is not None and a.answer in a.evidence.text
    captain = engine.ask("What did the captain say about the weather?")
    assert captain.answer == "I told the shore office we were heavy and the weather was turning"


@needs_reader
def test_engine_declines_for_a_speaker_who_said_nothing_about_it(engine):
    a = engine.ask("What did Idris Okafor say about the board's discussions of overcrowding?")
    assert a.answer is None
    assert engine.ask("How many passengers were on board?").time_kind  # other questions go the usual way


CLUB = (
    "ASHGROVE (Wire) - Ashgrove Rovers will raise season ticket prices by up to 18 per cent next season, the club said "
    "on Monday, the first decision by its new owners to draw open criticism.\n\n"
    "Maureen Ellis, chair of the Rovers Supporters' Trust, said the rise broke the spirit of the agreement.\n\n"
    "Greaves declined to comment on the prices, but said the backing of the crowd had been worth points this season. "
    "\"When Brookfield Road is full and loud, we do not lose,\" he said.\n"
)


def test_a_club_is_an_organisation_and_a_surname_that_declines_to_comment_is_a_person():
    found = quotes.extract(CLUB)
    assert found.people["Ashgrove Rovers"].organisation
    crowd = [q for q in found.quotes if q.text.startswith("When Brookfield Road")]
    assert [q.speaker for q in crowd] == ["Greaves"]  # "he": the manager named by surname, not the club


def test_said_after_a_clause_with_an_appositive_after_the_verb_is_the_clause():
    club = [q for q in quotes.extract(CLUB).quotes if q.kind == "reported" and "18 per cent" in q.text]
    assert [q.text for q in club] == ["Ashgrove Rovers will raise season ticket prices by up to 18 per cent next season"]


def test_a_role_asked_for_is_a_person_with_that_role_not_the_organisation_nor_who_shares_its_name():
    assert quotes.speaker_match("the Rovers manager", "Maureen Ellis", ["chair of the Rovers Supporters' Trust"]) == 0.25
    assert quotes.speaker_match("the Rovers manager", "Tommy Greaves", ["Manager"]) == 0.5
    article = Article("club.txt", "Season tickets", CLUB + "Ashgrove Rovers said the rise would pay for the squad.\n",
                      "2025-10-07", "club.txt")
    manager = quotes.gather(quotes.parse_question("What did the Rovers manager say about the crowd?"), [article])
    spokesman = quotes.gather(quotes.parse_question("What did the Rovers spokesman say about prices?"), [article])
    assert [s.match for s in spokesman if s.speaker == "Ashgrove Rovers"] == [0.5]  # a spokesman speaks for the club
    assert [s.match for s in manager if s.speaker == "Ashgrove Rovers"] == [0.0]  # its manager is not the club


def test_what_a_speaker_declined_to_comment_on_is_not_the_topic_of_the_quote():
    crowd = [q for q in quotes.extract(CLUB).quotes if q.text.startswith("When Brookfield Road")][0]
    context = quotes.topic_context(crowd, CLUB)
    assert "prices" not in context and "backing of the crowd" in context
