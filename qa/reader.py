"""The extractive reader: finds the answer span in passages.

transformers 5 has no question-answering pipeline, so spans are decoded here:
passages longer than the model's window are read in overlapping windows, all
windows of all passages go through the model in one padded batch, and only context
tokens can start or end an answer. Each window's [CLS] score is its "no answer"
score, and candidates are ranked by their margin over it: raw start + end logits
carry a per-window offset, so they do not compare across windows and passages,
while the margin is the statistic the "no answer" decision uses (`qa/answers.py`).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import DEFAULT_READER
from qa.precision import resolve_precision

BUNDLED_READER = Path(__file__).parent / "models" / "reader"


@dataclass
class Span:
    """A candidate answer in one passage.

    Attributes:
        passage: Index of the passage in the list given to :meth:`Reader.read`.
        start: Character offset of the answer in that passage.
        end: End offset (exclusive).
        text: ``passage_text[start:end]``.
        score: start + end logit (raw: not comparable across windows).
        null_score: The "no answer" score of the window it was found in.

    Candidates are compared by :attr:`margin`.
    """

    passage: int
    start: int
    end: int
    text: str
    logit_sum: float
    null_logit_sum: float

    @property
    def margin(self) -> float:
        """How much the reader prefers this span over 'no answer' (positive: prefers the span)."""
        return self.logit_sum - self.null_logit_sum


def resolve_reader_model(name: str) -> str:
    """'bundled' means the reader shipped inside the package."""
    return str(BUNDLED_READER) if name in ("", DEFAULT_READER) else name


_QUOTES = {"“": "”", "‘": "’", "«": "»", '"': '"', "(": ")", "[": "]"}  # opening -> closing
_OPENING = {c: o for o, c in _QUOTES.items()}  # closing -> opening


def trim_unpaired_quotes(text: str, start: int, end: int) -> tuple[int, int]:
    """A span's offsets without a quotation mark or bracket at its edge whose partner is not in the span.

    The reader often starts an answer at the opening quote of a quotation and ends it inside:
    ``“no common understanding``. SQuAD scoring drops ASCII punctuation; a reader of the answer sees it.
    (The straight apostrophe is left alone: it ends possessives, "the players'".)

    Args:
        text: The passage.
        start: The span's first character.
        end: One past its last.

    Returns:
        (start, end), narrowed by at most one character at each edge.
    """
    span = text[start:end]
    if len(span) > 1 and span[0] in _QUOTES and _QUOTES[span[0]] not in span[1:]:
        start += 1
        span = span[1:]
    if len(span) > 1 and span[-1] in _OPENING and _OPENING[span[-1]] not in span[:-1]:
        end -= 1
    return start, end


# A wire story's dateline at the start of a paragraph: "CASTLEBRIDGE (Wire) - ", "VARROW BRIDGE, Hollin Province — ",
# "BRACKENRIDGE, Nov. 20 (LPA) - ". Where the story was filed, never the answer to a question about it.
_DATELINE = re.compile(
    r"^[A-Z][A-Z'’.\-]+(?: [A-Z][A-Z'’.\-]+)*(?:, [A-Z][\w'’.\-]*(?: [\w'’.\-]+){0,3})?(?: \([^)\n]{1,30}\))? ?[—–-]{1,2} ",
    re.MULTILINE,
)


def datelines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each dateline in a passage, the dash and the space after it included."""
    return [m.span() for m in _DATELINE.finditer(text)]


def trim_dateline(lines: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """A span's offsets without a dateline it starts in; None when the span is only (part of) a dateline."""
    for ds, de in lines:
        if ds <= start < de:
            return None if end <= de else (de, end)
    return start, end


def decode_window(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: list[tuple[int, int]],
    context_mask: np.ndarray,
    max_answer_tokens: int = 30,
    top_n: int = 20,
) -> list[tuple[int, int, float]]:
    """Best spans of one window.

    Args:
        start_logits: (seq,) start scores.
        end_logits: (seq,) end scores.
        offsets: Character (start, end) of each token in the passage.
        context_mask: True for tokens of the passage (not question, special or padding).
        max_answer_tokens: Longest answer, in tokens.
        top_n: How many start and end positions to combine.

    Returns:
        (char_start, char_end, score) candidates, best first.
    """
    ctx = np.flatnonzero(context_mask)
    if len(ctx) == 0:
        return []
    s_log = start_logits[ctx]
    e_log = end_logits[ctx]
    starts = ctx[np.argsort(-s_log)[:top_n]]
    ends = ctx[np.argsort(-e_log)[:top_n]]
    out = []
    for s in starts:
        for e in ends:
            if e < s or e - s + 1 > max_answer_tokens:
                continue
            out.append((int(offsets[s][0]), int(offsets[e][1]), float(start_logits[s] + end_logits[e])))
    out.sort(key=lambda c: -c[2])
    return out


def merge_overlapping(spans: list[Span]) -> list[Span]:
    """Keep the best (highest margin) of spans that overlap in the same passage (overlapping windows find the same answer).

    Returns:
        The kept spans, highest margin first.
    """
    kept: list[Span] = []
    for sp in sorted(spans, key=lambda s: -s.margin):
        if any(k.passage == sp.passage and k.start < sp.end and sp.start < k.end for k in kept):
            continue
        kept.append(sp)
    return kept


MIN_CONTEXT_TOKENS = 32  # context tokens each window keeps beyond the stride, however long the question


def truncate_question(tokenizer, question: str, max_tokens: int) -> str:
    """The question cut to at most ``max_tokens`` tokens, keeping its start and its end.

    A question longer than the window leaves no room for the passage (the tokenizer
    panics when the stride is not below that room). The start usually says what is
    asked and the end holds the question proper ("... so who heads the TNC?"), so the
    middle is dropped.

    Args:
        tokenizer: The reader's fast tokenizer.
        question: The question.
        max_tokens: Token budget (without special tokens).

    Returns:
        The question itself when it fits, else its first and last parts joined by " … ".
    """
    enc = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    if len(offsets) <= max_tokens:
        return question
    head = max(1, max_tokens // 3)
    tail = max(1, max_tokens - head - 1)  # one token for the ellipsis
    return question[: offsets[head - 1][1]] + " … " + question[offsets[-tail][0] :]


class Reader:
    """Extractive QA over passages with a span-extraction model.

    Args:
        model: Path or hub id of an ``AutoModelForQuestionAnswering`` model with a
            fast tokenizer; 'bundled' is the reader shipped with qa.
        max_length: Tokens per window (question + passage).
        stride: Tokens shared by consecutive windows of a long passage.
        max_answer_tokens: Longest answer.
        batch_size: Windows per forward pass.
        quantize: int8 dynamic quantisation of the linear layers (faster on CPU, slightly less exact).
        precision: 'fp32', 'bf16' (the forward pass under bfloat16 autocast; logits back in fp32)
            or 'auto' (bf16 only on a CPU that has it in hardware: elsewhere it is emulated, ~16x slower).
    """

    def __init__(
        self,
        model: str = DEFAULT_READER,
        max_length: int = 256,
        stride: int = 96,
        max_answer_tokens: int = 30,
        batch_size: int = 32,
        quantize: bool = False,
        precision: str = "fp32",
    ):
        self.model_name = model
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size
        self.quantize = quantize
        self.precision = resolve_precision(precision)
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self.settings: dict = {}

    def warm_up(self) -> None:
        """Load the model and tokenizer (once)."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        path = resolve_reader_model(self.model_name)
        if self.model_name in ("", DEFAULT_READER) and not (BUNDLED_READER / "config.json").exists():
            raise FileNotFoundError(
                f"The bundled reader is missing from {BUNDLED_READER}. Train one with `qa train-reader` "
                "or set the reader model to a path or hub id."
            )
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        if not self._tokenizer.is_fast:
            raise ValueError(f"{path}: the reader needs a fast tokenizer (for character offsets)")
        # fp16 weights on disk, fp32 on the CPU: fp16 matmuls are slow there.
        model = AutoModelForQuestionAnswering.from_pretrained(path, dtype=torch.float32).eval()
        if self.quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self._model = model
        settings = Path(path) / "qa_reader.json"
        if settings.exists():
            self.settings = json.loads(settings.read_text())

    @property
    def default_threshold(self) -> float:
        """The 'no answer' threshold calibrated for SQuAD v2.0-style reading (0 if the model ships none)."""
        self.warm_up()
        return float(self.settings.get("null_threshold", 0.0))

    @property
    def open_threshold(self) -> float:
        """The margin threshold for reading retrieved passages, used where the reader ships no :attr:`open_min_confidence` (falls back to :attr:`default_threshold`)."""
        self.warm_up()
        return float(self.settings.get("open_threshold", self.default_threshold))

    @property
    def open_min_confidence(self) -> float | None:
        """The engine declines answers whose calibrated P(right) is below this (None: the reader ships no such fit, decline by margin)."""
        self.warm_up()
        value = self.settings.get("open_min_confidence")
        return None if value is None else float(value)

    def read(self, question: str, passages: list[str], top_k: int = 5) -> list[Span]:
        """Find answer candidates for a question in passages.

        Args:
            question: The question.
            passages: Texts to read.
            top_k: How many candidates to return.

        Returns:
            Up to ``top_k`` spans, highest margin over "no answer" first, overlapping duplicates merged.
        """
        if not passages or not question.strip():
            return []
        return merge_overlapping(self.candidates(question, passages, top_k))[:top_k]

    def candidates(self, question: str, passages: list[str], top_k: int = 5) -> list[Span]:
        """Every window's best spans (``2 * top_k`` each), unmerged and unsorted (what :meth:`read` chooses from)."""
        return self._spans([question] * len(passages), passages, top_k)

    def read_pairs(self, questions: list[str], passages: list[str], top_k: int = 1) -> list[list[Span]]:
        """Read many (question, passage) pairs in shared batches (for evaluation).

        Returns:
            For each pair, its best spans (``Span.passage`` is the pair's index).
        """
        per_pair: list[list[Span]] = [[] for _ in questions]
        for sp in self._spans(questions, passages, top_k):
            per_pair[sp.passage].append(sp)
        return [merge_overlapping(spans)[:top_k] for spans in per_pair]

    @property
    def question_budget(self) -> int:
        """Most question tokens a window can take and still hold more passage than the stride."""
        return self.max_length - self.stride - 3 - MIN_CONTEXT_TOKENS  # 3: [CLS] and two [SEP]

    def _spans(self, questions: list[str], passages: list[str], top_k: int) -> list[Span]:
        """Candidate spans of every window of every (question, passage) pair, in one batched pass."""
        import torch

        self.warm_up()
        if not passages:
            return []
        tok = self._tokenizer
        questions = [truncate_question(tok, q, self.question_budget) for q in questions]
        enc = tok(
            questions,
            passages,
            truncation="only_second",
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        n = len(enc["input_ids"])
        # Sort windows by length so each batch pads little.
        order = sorted(range(n), key=lambda i: len(enc["input_ids"][i]))
        start_all: list[np.ndarray] = [None] * n
        end_all: list[np.ndarray] = [None] * n
        for b in range(0, n, self.batch_size):
            idx = order[b : b + self.batch_size]
            width = max(len(enc["input_ids"][i]) for i in idx)
            batch = {
                k: torch.tensor([enc[k][i] + [0] * (width - len(enc[k][i])) for i in idx])
                for k in ("input_ids", "attention_mask", "token_type_ids")
                if k in enc
            }
            with self._lock, torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self.precision == "bf16"):
                out = self._model(**batch)
            for row, i in enumerate(idx):
                length = len(enc["input_ids"][i])
                start_all[i] = out.start_logits[row, :length].float().numpy()
                end_all[i] = out.end_logits[row, :length].float().numpy()
        spans: list[Span] = []
        lines = [datelines(t) for t in passages]
        for i in range(n):
            p = enc["overflow_to_sample_mapping"][i]
            mask = np.array([s == 1 for s in enc.sequence_ids(i)])
            null = float(start_all[i][0] + end_all[i][0])
            for cs, ce, score in decode_window(
                start_all[i], end_all[i], enc["offset_mapping"][i], mask, self.max_answer_tokens
            )[: top_k * 2]:
                trimmed = trim_dateline(lines[p], cs, ce)
                if trimmed is None:
                    continue
                cs, ce = trim_unpaired_quotes(passages[p], *trimmed)
                spans.append(Span(p, cs, ce, passages[p][cs:ce], score, null))
        return spans
