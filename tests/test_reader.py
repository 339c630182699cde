import numpy as np
import pytest

from qa.reader import Reader, Span, decode_window, merge_overlapping, trim_unpaired_quotes, truncate_question


def window(n=10, ctx=range(4, 9)):
    offsets = [(0, 0)] * n
    for k, i in enumerate(ctx):
        offsets[i] = (k * 5, k * 5 + 4)  # token i covers passage chars [5k, 5k+4)
    mask = np.zeros(n, bool)
    mask[list(ctx)] = True
    return offsets, mask


def test_best_span_from_context_tokens_only():
    offsets, mask = window()
    start = np.zeros(10)
    end = np.zeros(10)
    start[1] = end[2] = 100.0  # question tokens score highest but must be ignored
    start[5], end[6] = 3.0, 4.0
    cands = decode_window(start, end, offsets, mask)
    assert cands[0] == (5, 14, 7.0)
    ctx_starts = {offsets[i][0] for i in range(10) if mask[i]}
    assert all(c[0] in ctx_starts for c in cands) and all(c[2] < 100 for c in cands)


def test_end_before_start_and_max_length_are_excluded():
    offsets, mask = window()
    start = np.zeros(10)
    end = np.zeros(10)
    start[7], end[5] = 50.0, 50.0  # end before start: never a candidate
    assert all(c[0] <= c[1] for c in decode_window(start, end, offsets, mask))
    assert (15, 29) not in [c[:2] for c in decode_window(start, end, offsets, mask)]
    start[:] = end[:] = 0.0
    start[4], end[8] = 5.0, 5.0  # the best span is 5 tokens long
    assert decode_window(start, end, offsets, mask, max_answer_tokens=5)[0] == (0, 24, 10.0)
    short = decode_window(start, end, offsets, mask, max_answer_tokens=3)
    assert short[0][2] == 5.0 and all(c[1] - c[0] <= 3 * 5 for c in short)


def test_no_context_no_candidates():
    offsets, mask = window(ctx=[])
    assert decode_window(np.zeros(10), np.zeros(10), offsets, mask) == []


def test_overlapping_duplicates_merged_keep_best():
    spans = [Span(0, 10, 20, "a", 5.0, 0.0), Span(0, 12, 20, "b", 7.0, 0.0), Span(1, 10, 20, "c", 6.0, 0.0), Span(0, 30, 35, "d", 1.0, 0.0)]
    kept = merge_overlapping(spans)
    assert [s.text for s in kept] == ["b", "c", "d"]


def test_reader_with_tiny_model_spans_point_into_passages(tiny_reader):
    reader = Reader(tiny_reader, max_length=64, stride=16, max_answer_tokens=8)
    long = " ".join(f"Sentence {i} tells of the river Volga and the city of Kazan." for i in range(30))
    passages = ["The cat sat on the mat in Paris.", long]
    spans = reader.read("Where did the cat sit?", passages, top_k=50)
    assert spans and len(spans) <= 50
    assert {s.passage for s in spans} <= {0, 1}
    for s in spans:
        assert passages[s.passage][s.start:s.end] == s.text
        assert s.text.strip()
    assert spans == sorted(spans, key=lambda s: -s.margin)  # ranked on the scale the decline uses
    # windows over the long passage reach its end: some candidate lies beyond the first window
    enc = reader._tokenizer("Where did the cat sit?", long, truncation="only_second", max_length=64, stride=16, return_overflowing_tokens=True)
    assert len(enc["input_ids"]) > 3
    assert reader.read("", passages) == [] and reader.read("q", []) == []


def test_read_pairs_matches_reading_one_by_one(tiny_reader):
    reader = Reader(tiny_reader, max_length=64, stride=16)
    qs = ["Where did the cat sit?", "Who is the mayor?"]
    ps = ["The cat sat on the mat in Paris.", "Bob Smith has been the mayor of a small town since 1990, people say."]
    batched = reader.read_pairs(qs, ps, top_k=3)
    for i, (q, p, got) in enumerate(zip(qs, ps, batched)):
        single = reader.read(q, [p], top_k=3)
        assert [(s.start, s.end) for s in got] == [(s.start, s.end) for s in single]
        assert all(abs(a.logit_sum - b.logit_sum) < 1e-3 for a, b in zip(got, single))
        assert all(s.passage == i for s in got)


def test_long_question_is_truncated_to_leave_room_for_the_passage(tiny_reader):
    reader = Reader(tiny_reader, max_length=64, stride=16)
    reader.warm_up()
    question = "Considering " + "the long story of the river Volga and the city of Kazan, " * 12 + "where did the cat sit?"
    assert len(reader._tokenizer(question)["input_ids"]) > 64  # longer than a whole window
    short = truncate_question(reader._tokenizer, question, reader.question_budget)
    assert len(reader._tokenizer(short, add_special_tokens=False)["input_ids"]) <= reader.question_budget
    assert short.startswith("Considering the long") and short.endswith("where did the cat sit?")
    assert truncate_question(reader._tokenizer, "Where did the cat sit?", reader.question_budget) == "Where did the cat sit?"
    passage = "The cat sat on the mat in Paris. " * 10
    spans = reader.read(question, [passage])  # the tokenizer panicked here before truncation
    assert spans and all(passage[s.start:s.end] == s.text for s in spans)


def test_every_window_of_a_long_passage_is_read(tiny_reader):
    reader = Reader(tiny_reader, max_length=64, stride=16)
    long = " ".join(f"Sentence {i} tells of the river Volga and the city of Kazan." for i in range(30))
    spans = reader.read("Where is the river?", [long], top_k=200)
    reader.warm_up()
    first = reader._tokenizer("Where is the river?", long, truncation="only_second", max_length=64, stride=16,
                              return_overflowing_tokens=True, return_offsets_mapping=True)
    first_window_end = max(e for (s, e), seq in zip(first["offset_mapping"][0], first.sequence_ids(0)) if seq == 1)
    assert max(s.end for s in spans) > 2 * first_window_end  # candidates from windows far past the first


def test_bf16_reader_reads_like_fp32(monkeypatch):
    """bf16 autocast (the 'auto' default on CPUs with native bf16) finds the same answers with
    margins a rounding apart; 'auto' never picks emulated bf16."""
    import pytest

    from conftest import bundled_reader_available

    if not bundled_reader_available():
        pytest.skip("the bundled reader is not trained yet")
    questions = ["Who is the NATO Secretary-General?", "Where did Rasmussen meet Medvedev?", "What did the strikes target?"]
    passage = ("NATO Secretary-General Anders Fogh Rasmussen defended the alliance's Libya mission Monday during a visit "
               "to the Russian city of Sochi, where he discussed Libya with Russian President Dmitry Medvedev. "
               "The strikes targeted Gaddafi's command centres in Tripoli.")
    fp32, bf16 = Reader(precision="fp32"), Reader(precision="bf16")
    a, b = fp32.read_pairs(questions, [passage] * 3), bf16.read_pairs(questions, [passage] * 3)
    assert [s[0].text for s in a] == [s[0].text for s in b]
    diffs = [abs(x[0].margin - y[0].margin) for x, y in zip(a, b)]
    assert max(diffs) < 0.5 and any(d > 0 for d in diffs)  # bf16 really ran: not bit-identical
    import qa.precision as precision

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert Reader(precision="auto").precision == "fp32"


def test_engine_reader_follows_the_precision_setting():
    from qa.config import Config, ConfigError
    from qa.engine import Engine

    assert Engine(Config(reader_precision="bf16")).reader.precision == "bf16"
    assert Engine(Config(reader_precision="fp32")).reader.precision == "fp32"
    import pytest

    with pytest.raises(ConfigError, match="reader_precision"):
        Config(reader_precision="int4")


@pytest.mark.parametrize("span, shown", [
    ("“no common understanding", "no common understanding"),  # the quotation's close is outside the span
    ("“no common understanding”", "“no common understanding”"),  # a whole quotation stays quoted
    ("said “no", "said “no"),  # an inner quote is not at the edge
    ("understanding” about", "understanding” about"),
    ("common understanding”", "common understanding"),
    ('"Libya', "Libya"),
    ('"Libya"', '"Libya"'),
    ("the players'", "the players'"),  # an apostrophe, not a quote
    ("“", "“"),  # nothing left to show otherwise
    ("(TNC", "TNC"),
    ("Council (TNC)", "Council (TNC)"),
    ("TNC) said", "TNC) said"),
    ("the TNC)", "the TNC"),
])
def test_a_quotation_mark_without_its_partner_is_not_shown_at_the_edge_of_an_answer(span, shown):
    text = f"Lavrov said there is {span} today."
    start = text.index(span)
    s, e = trim_unpaired_quotes(text, start, start + len(span))
    assert text[s:e] == shown



@pytest.mark.parametrize("text,dateline", [
    ("CASTLEBRIDGE (Wire) - Imogen Farrady was named.", "CASTLEBRIDGE (Wire) - "),
    ("TESSAN, Valenmark — The four candidates", "TESSAN, Valenmark — "),
    ("BRACKENRIDGE, Nov. 20 (LPA) - Teachers voted", "BRACKENRIDGE, Nov. 20 (LPA) - "),
    ("The NATO - led force", None),
])
def test_a_wire_datelines_place_is_never_an_answer(text, dateline):
    from qa.reader import datelines, trim_dateline

    lines = datelines(text)
    assert [text[s:e] for s, e in lines] == ([dateline] if dateline else [])
    if dateline:
        end = len(dateline)
        assert trim_dateline(lines, 0, end - 3) is None                    # the place alone: no answer
        assert trim_dateline(lines, 0, end + 6) == (end, end + 6)          # dateline + name: the name
        assert trim_dateline(lines, end, end + 6) == (end, end + 6)        # after it: untouched
