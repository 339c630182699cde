"""Mutation check: break the code one line at a time and see whether the tests notice.

Each mutation names a file, the exact text to replace and its replacement, and the
test files that should catch it. For each: the file is changed, ``pytest -x`` runs on
those test files, the file is restored (always: also on Ctrl-C or an error), and the
outcome is reported:

* ``killed``: a test failed, as it should;
* ``SURVIVED``: every test passed with the code broken, a gap in the tests;
* ``target not found`` / ``target ambiguous``: the code moved; update the mutation's ``old`` text;
* ``error``: pytest could not run (exit code 2-5, or the time limit).

Run the tests once unmutated first: a test that already fails would "kill" every mutation;
leave such tests out with ``--deselect NODEID``.

    PYTHONPATH=. .venv/bin/python tools/mutate.py              # all
    PYTHONPATH=. .venv/bin/python tools/mutate.py --list       # names and targets only
    PYTHONPATH=. .venv/bin/python tools/mutate.py --only conversation-standalone-rewritten
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Mutation:
    """One one-line breakage.

    Attributes:
        name: Short id.
        what: The behaviour it breaks, in words.
        file: Path relative to the repository root.
        old: Exact text to replace (must occur once).
        new: Its replacement.
        tests: Test files (or node ids) to run.
    """

    name: str
    what: str
    file: str
    old: str
    new: str
    tests: list[str]


MUTATIONS = [
    Mutation(
        "reader-first-window-only", "reading only the first window of a passage",
        "qa/reader.py", "        for i in range(n):\n            p = enc[\"overflow_to_sample_mapping\"][i]",
        "        for i in sorted({enc[\"overflow_to_sample_mapping\"][j]: j for j in reversed(range(n))}.values()):\n"
        "            p = enc[\"overflow_to_sample_mapping\"][i]",
        ["tests/test_reader.py"],
    ),
    Mutation(
        "squad-first-gold-only", "scoring against only the first gold answer",
        "qa/offline/squad.py", "        max(f1_score(prediction, g) for g in golds),",
        "        max(f1_score(prediction, g) for g in golds[:1]),",
        ["tests/test_evaluation.py"],
    ),
    Mutation(
        "confidence-step", "confidence as a 0/1 step",
        "qa/answers.py", "        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))",
        "        return 1.0 if z >= 0 else 0.0",
        ["tests/test_answers.py", "tests/test_e2e.py"],
    ),
    Mutation(
        "decline-ignores-probability", "the decline made on the margin although a probability threshold is set",
        "qa/answers.py", "        return confidence >= min_confidence", "        return choice.margin >= threshold",
        ["tests/test_answers.py"],
    ),
    Mutation(
        "confidence-ignores-cosine", "the passage's cosine left out of the confidence",
        "qa/answers.py", "        z = self.coef * margin + self.cosine_coef * cosine + self.intercept",
        "        z = self.coef * margin + self.intercept",
        ["tests/test_answers.py"],
    ),
    Mutation(
        "fusion-without-bm25", "BM25 removed from the fusion",
        "qa/retrieval.py", "            ranked = fuse([dense, keyword], k)", "            ranked = fuse([dense], k)",
        ["tests/test_retrieval.py", "tests/test_store.py", "tests/test_e2e.py"],
    ),
    Mutation(
        "threshold-ignored", "the configured threshold ignored",
        "qa/engine.py", "        return self.reader.open_threshold if t is None else t",
        "        return self.reader.open_threshold",
        ["tests/test_e2e.py", "tests/test_cli.py"],
    ),
    Mutation(
        "kept-vectors-wrong-rows", "kept vectors taken from the wrong rows",
        "qa/stores/local.py", "                    out[h] = np.array(vectors[int(np.searchsorted(ids, vid))])",
        "                    out[h] = np.array(vectors[int(np.searchsorted(ids, vid)) - 1])",
        ["tests/test_retrieval.py", "tests/test_store.py", "tests/test_live.py"],
    ),
    Mutation(
        "one-citation-only", "only one citation per answer",
        "qa/answers.py", "    for c in [chosen] + [c for c in cands if c is not chosen and c.key == chosen.key and c.accepted]:",
        "    for c in [chosen]:",
        ["tests/test_answers.py", "tests/test_e2e.py"],
    ),
    Mutation(
        "conversation-standalone-rewritten", "a standalone pronoun question rewritten",
        "qa/conversation.py", "        if not _bound(question, m):\n            return m",
        "        if True:\n            return m",
        ["tests/test_conversation.py", "tests/test_e2e.py"],
    ),
    Mutation(
        "conversation-kind-ignored", "the entity's kind not checked against the pronoun (a date may be 'he')",
        "qa/conversation.py", "            if e.kind in kinds and all(", "            if all(",
        ["tests/test_conversation.py", "tests/test_e2e.py"],
    ),
    Mutation(
        "conversation-as-asked-dropped", "the rewrite always used, even when the reader is surer of the question as asked",
        "qa/conversation.py", "    return max(pool, key=lambda i: answers[i].margin)", "    return len(answers) - 1",
        ["tests/test_conversation.py", "tests/test_e2e.py"],
    ),
    Mutation(
        "api-history-ignored", "the /ask API drops the earlier turns",
        "qa/web/app.py", "            return backend.answer((question or \"\").strip(), turns_of(history))",
        "            return backend.answer((question or \"\").strip(), [])",
        ["tests/test_web.py"],
    ),
    Mutation(
        "chat-state-ignored", "the chat page forgets the conversation",
        "qa/web/app.py", "        for html, turn in exchanges(question, turns, _who(request)):",
        "        for html, turn in exchanges(question, [], _who(request)):",
        ["tests/test_web.py"],
    ),
    Mutation(
        "question-not-truncated", "a long question not truncated for the reader",
        "qa/reader.py", "        questions = [truncate_question(tok, q, self.question_budget) for q in questions]",
        "        questions = list(questions)",
        ["tests/test_reader.py"],
    ),
    Mutation(
        "question-length-unchecked", "no limit on the question's length in the engine",
        "qa/engine.py", "        check_question_length(question, self.config.max_question_chars)\n",
        "",
        ["tests/test_e2e.py"],
    ),
    Mutation(
        "milvus-keys-raw", "Milvus primary keys stored unescaped (Lite 2.5 pastes them into SQL)",
        "qa/stores/milvus.py", "    return value.translate(_KEY_TABLE)", "    return value",
        ["tests/test_store_milvus.py"],
    ),
    Mutation(
        "milvus-refresh-stays", "a Milvus reader never moves to a newly published build",
        "qa/stores/milvus.py", "                self._passages, self._articles = names", "                pass",
        ["tests/test_store_milvus.py"],
    ),
    Mutation(
        "milvus-lite-lock-unchecked", "a Milvus Lite file held by another process is opened anyway",
        "qa/stores/milvus.py", "            if _open_elsewhere(uri):\n                raise IndexStoreError(", "            if False:\n                raise IndexStoreError(",
        ["tests/test_store_milvus.py"],
    ),
    Mutation(
        "trained-titles-ignore-average", "an averaged reader's training records not followed",
        "qa/offline/evaluation.py",
        """        todo += [r["training"] for r in info.get("averaged", {}).get("readers", []) if isinstance(r, dict) and r.get("training")]\n""",
        "",
        ["tests/test_evaluation.py"],
    ),
    Mutation(
        "auc-ties-lost", "ties not counted half in the margin's AUC",
        "qa/offline/evaluation.py", "    return float((below.sum() + 0.5 * ties.sum())", "    return float((below.sum() + 0.0 * ties.sum())",
        ["tests/test_evaluation.py"],
    ),
    Mutation(
        "quotes-untrimmed", "answers shown with a quotation mark whose partner is outside the span",
        "qa/reader.py", "                cs, ce = trim_unpaired_quotes(passages[p], *trimmed)", "                cs, ce = trimmed",
        ["tests/test_e2e.py"],
    ),
    Mutation(
        "lite-watch-child-index", "the folder watch of a chat on a Milvus Lite file runs `qa index` in another process",
        "qa/cli.py", "reindex_through(backend) if is_lite_location(engine.config.location) else reindex_command(engine.config)", "reindex_command(engine.config)",
        ["tests/test_store_milvus.py"],
    ),
    Mutation(
        "lite-stats-stale", "the page's article count for a Milvus Lite file never follows an update",
        "qa/web/worker.py", "is_lite_location(self._location) and self._ready.done()", "is_lite_location(self._location) and False",
        ["tests/test_store_milvus.py"],
    ),
    # --- time in answers: qa/news.py and the answer decision (qa/answers.py) ---
    Mutation(
        "event-report-reaches-back", "an event's first report taken from articles that only led up to it (the wider margin)",
        "qa/news.py", "EVENT_MATCH = 0.05\n", "EVENT_MATCH = 0.1\n",
        ["tests/test_news.py"],
    ),
    Mutation(
        "newer-read-unsaid", "the page does not say that a newer article read does not confirm a current state",
        "qa/web/render.py", "        if newer:\n            parts.append(", "        if False:\n            parts.append(",
        ["tests/test_render.py"],
    ),
    Mutation(
        "newer-ceiling-ignored", "a current state from an older article shown as sure as the reader is, a newer article read",
        "qa/answers.py", "chosen.probability = min(chosen.probability, rule.newer_ceiling)", "chosen.probability = chosen.probability",
        ["tests/test_news.py"],
    ),
    Mutation(
        "future-is-fixed", "a question about what is to come (\"When will it reopen?\") read as a fixed fact",
        "qa/news.py", "    if _FUTURE.search(q) and not _PAST.search(q):\n        return TimeAsk(\"current\")\n",
        "",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-fixed-takes-newest", "a fixed-fact question switched to the newest article's answer",
        "qa/answers.py", "    if ask.kind == \"current\":\n        pool = [c for c in cands if c.accepted and c.date and not c.past]",
        "    if ask.kind in (\"current\", \"fixed\"):\n        pool = [c for c in cands if c.accepted and c.date and not c.past]",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-current-takes-best", "a current-state question answered by the best margin, not the newest article",
        "qa/answers.py", "    newest = max(c.date for c in pool)\n    return next(", "    newest = pool[0].date\n    return next(",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-confidence-of-best", "the shown span's confidence replaced by the best span's",
        "qa/answers.py", "    return Answer(question, chosen.span.text, chosen.span.margin, chosen.probability, citations",
        "    return Answer(question, chosen.span.text, cands[0].span.margin, cands[0].probability, citations",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-former-as-current", "a name said as former ('former chief executive X') taken as the current one",
        "qa/answers.py", "        return news.said_as_past(self.source.passage[: self.span.start], self.source.passage[self.span.end:])",
        "        return False",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-over-time-for-fixed", "the over-time list shown for a fixed-fact question",
        "qa/answers.py", "if ask.kind in (\"current\", \"period\") else []", "",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-story-rule-ignored", "the story rule not applied to passages of an evolving story",
        "qa/answers.py", "    rule = rule.for_sources(sources)\n", "",
        ["tests/test_news.py"],
    ),
    Mutation(
        "period-drops-others", "a period question dropping the passages outside the period",
        "qa/news.py", "    return (inside + outside)[:k], bool(inside)", "    return (inside or outside)[:k], bool(inside)",
        ["tests/test_news.py"],
    ),
    Mutation(
        "period-since-single-year", "'since 2010' read as 2010 only",
        "qa/news.py", "            return Period(p.start, date.max, f\"{p.iso}/..\"), m.span()", "            return p, m.span()",
        ["tests/test_news.py"],
    ),
    Mutation(
        "month-always-past", "a month without a year always in the past ('in August' in a July article)",
        "qa/news.py", "    if ahead < 6:", "    if False:",
        ["tests/test_news.py"],
    ),
    Mutation(
        "time-ask-now-ignored", "words of 'now' no longer make a current-state question",
        "qa/news.py", "    if _NOW.search(q) and not (m and _PAST.search(q[: m.start()])):",
        "    if False:",
        ["tests/test_news.py"],
    ),
    Mutation(
        "time-ask-still-beats-event", "'How many were still in shelters when the governor resigned?' read as now, not then",
        "qa/news.py", "    if _NOW.search(q) and not (m and _PAST.search(q[: m.start()])):", "    if _NOW.search(q):",
        ["tests/test_news.py"],
    ),
    Mutation(
        "time-ask-as-a-result-event", "'as a result of the leak' read as an event the state is anchored to",
        "qa/news.py", "as(?!\\s+(?:a\\s+(?:result|consequence|whole)|part)\\b)|after", "as|after",
        ["tests/test_news.py"],
    ),
    Mutation(
        "past-after-name-ignored", "a name followed by ', who was dismissed' or 'resigned' taken as the current holder",
        "qa/news.py", "    if _FORMER.search(window) or _LEFT.match(after[:60]):", "    if _FORMER.search(window):",
        ["tests/test_news.py"],
    ),
    Mutation(
        "past-replacing-ignored", "'replacing X' not read as X's past",
        "qa/news.py", "|had been|replac(?:ing|ed|es)\"", "|had been\"",
        ["tests/test_news.py"],
    ),
    Mutation(
        "past-reported-figure", "a figure someone says it has reached now ('said it had risen to 520,000') read as past",
        "qa/news.py", "    return bool(_FORMER_FIGURE.search(window)) and not _SAID.search(window)",
        "    return bool(_FORMER_FIGURE.search(window))",
        ["tests/test_news.py"],
    ),
    Mutation(
        "change-span-kept-whole", "'8,100 from 6,400' given whole instead of the new figure",
        "qa/answers.py", "    for s in sorted((_new_value(s) for s in spans), key=lambda s: -s.margin):",
        "    for s in sorted(spans, key=lambda s: -s.margin):",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-period-takes-past", "a period question answered with what that period's article says held before",
        "qa/answers.py", "        pool = [c for c in cands if c.accepted and ask.period.holds(c.date) and not c.past]",
        "        pool = [c for c in cands if c.accepted and ask.period.holds(c.date)]",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-period-falls-back-to-another-time", "a period whose articles do not answer answered from another time",
        "qa/answers.py", "            return next((c for c in cands if c.fits and ask.period.holds(c.date) and not c.past), best)",
        "            return best",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-period-not-carried", "a period whose own articles do not answer not given the state last reported before it",
        "qa/answers.py", "            if before:\n                return max(before, key=lambda c: c.date)",
        "            if False:\n                return max(before, key=lambda c: c.date)",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-current-later-doubt-ignored", "an older value shown as current while a later article gives another",
        "qa/answers.py", "    return (_doubt(cands, chosen) or chosen) if", "    return (None or chosen) if",
        ["tests/test_news.py"],
    ),
    Mutation(
        "declined-changed-later-unsaid", "a current state declined because a later article differs, said as a plain 'not found'",
        "qa/answers.py", "        if older is not None and _doubt(cands, older) is chosen:", "        if False:",
        ["tests/test_news.py"],
    ),
    Mutation(
        "decide-current-all-past-shown", "a current state said only as past ('stood at £9.5 million') shown as the answer",
        "qa/answers.py", "            return next((c for c in cands if c.fits and c.date and not c.past), best)", "            return best",
        ["tests/test_news.py"],
    ),
    Mutation(
        "types-ordinal-counts", "'third' ('the third death') taken as an answer to 'How many …?'",
        "qa/answer_types.py", "        if _ORDINAL.fullmatch(t) and re.match(", "        if False and re.match(",
        ["tests/test_answer_types.py"],
    ),
    Mutation(
        "relative-posted-date-hashed", "a relative Posted date part of the hash (touching the file re-embeds it)",
        "qa/articles.py", "\"\" if self.date_relative else self.date", "self.date",
        ["tests/test_news.py"],
    ),
    Mutation(
        "dateline-kept", "a wire story's dateline ('CASTLEBRIDGE (Wire) -') kept in or as an answer",
        "qa/reader.py", "            return None if end <= de else (de, end)", "            return start, end",
        ["tests/test_reader.py"],
    ),
    Mutation(
        "depth-for-ignored", "a time question's wider look searched deeper, so its top_k differs from a plain question's",
        "qa/retrieval.py", "        pool = max(self.pool * (depth_for or k), 20, k)", "        pool = max(self.pool * k, 20)",
        ["tests/test_retrieval.py"],
    ),
    Mutation(
        "when-day-inside-unchecked", "asked 'When', any day preferred to a month, even one outside it",
        "qa/answers.py", "        if day is not None and day.start == day.end and period.start <= day.start <= period.end:",
        "        if day is not None and day.start == day.end:",
        ["tests/test_news.py"],
    ),
    # --- a chat for a team: qa/users.py, qa/web/access.py, qa/web/app.py, qa/web/library.py ---
    Mutation(
        "exposed-without-sign-in", "qa serve on a network address without sign-in",
        "qa/web/access.py", "        if is_loopback(host) or self.mode != \"none\" or self.no_auth:", "        if True:",
        ["tests/test_users.py", "tests/faults/test_team.py::test_a_network_address_without_sign_in_is_refused"],
    ),
    Mutation(
        "upload-route-open-to-readers", "the upload route takes a reader's file",
        "qa/web/access.py", "            if not self.access.can(user, \"editor\"):", "            if False:",
        ["tests/faults/test_team.py::test_a_reader_asks_but_cannot_add_articles"],
    ),
    Mutation(
        "add-event-open-to-readers", "the page's add event indexes a reader's file",
        "qa/web/app.py", "            if not access.can(user, \"editor\"):  # the page hides", "            if False:  # the page hides",
        ["tests/faults/test_team.py::test_a_reader_asks_but_cannot_add_articles"],
    ),
    Mutation(
        "upload-overwrites", "an upload replaces the article file of the same name",
        "qa/web/library.py", "        if (folder / name).exists():", "        if False:",
        ["tests/faults/test_team.py::test_an_editor_adds_but_never_replaces_an_article"],
    ),
    Mutation(
        "no-request-limit", "no per-user limit on API calls",
        "qa/web/access.py", "            if len(events) >= self.config.max_requests_per_minute:", "            if False:",
        ["tests/faults/test_team.py::test_limits_answer_429_with_a_message"],
    ),
    Mutation(
        "proxy-header-from-anyone", "the proxy's user header trusted from any address",
        "qa/web/access.py", "        if client is None or client.host not in self.trusted_proxies:", "        if client is None:",
        ["tests/faults/test_team.py::test_a_proxys_user_header_is_trusted_from_the_proxy_only"],
    ),
    Mutation(
        "password-lock-off", "wrong passwords never lock a name",
        "qa/users.py", "        if len(recent) >= max_failures:", "        if False:",
        ["tests/test_users.py"],
    ),
    Mutation(
        "upload-indexed-in-engine", "an upload indexed in the engine's process, holding up the questions asked meanwhile",
        "qa/web/worker.py", "        if is_lite_location(self.config.location):\n            return self.start(\"add_files\", paths).result()",
        "        if True:\n            return self.start(\"add_files\", paths).result()",
        ["tests/faults/test_team.py::test_questions_are_answered_while_an_upload_is_indexed"],
    ),
    Mutation(
        "api-questions-queue-in-gradio", "API questions wait in Gradio's queue, one at a time, where one client can fill the line",
        "qa/web/app.py", "        gr.api(ask, api_name=\"ask\", concurrency_limit=None)", "        gr.api(ask, api_name=\"ask\")",
        ["tests/faults/test_team.py::test_one_user_cannot_fill_the_line"],
    ),
    Mutation(
        "yaml-aliases-expanded", "YAML aliases in front matter read (a 0.5 KB 'billion laughs' costs minutes and GBs)",
        "qa/formats/markdown.py", "            if self.check_event(AliasEvent):", "            if False:",
        ["tests/faults/test_hostile_files.py::test_yaml_alias_bomb_in_front_matter_is_read_as_text_in_seconds"],
    ),
    Mutation(
        "answer-kind-ignored", "every span taken as of the kind asked ('more' for 'How many?')",
        "qa/answers.py", "        fits = answer_types.fits(kind, s.text, question)\n",
        "        fits = True\n",
        ["tests/test_answer_types.py"],
    ),
    Mutation(
        "answer-kind-never-asked", "no question read as asking for a kind of answer",
        "qa/answer_types.py", "    for kind, pattern in _ASKS:", "    for kind, pattern in []:",
        ["tests/test_answer_types.py"],
    ),
    Mutation(
        "answer-restating-question-fits", "a clause that restates the question taken as the time it holds",
        "qa/answer_types.py", "    if question and kind in _RESTATES and", "    if False and kind in _RESTATES and",
        ["tests/test_answer_types.py"],
    ),
    Mutation(
        "shortlist-merge-by-margin-only", "overlapping candidates merged by margin alone (the kind asked not preferred)",
        "qa/answers.py", "key=lambda x: (not x[1], -x[0].margin)", "key=lambda x: -x[0].margin",
        ["tests/test_answer_types.py"],
    ),
    Mutation(
        "citation-support-unchecked", "every passage with the same words cited, whether the reader finds the answer there or not",
        "qa/answers.py", "c.key == chosen.key and c.accepted]", "c.key == chosen.key]",
        ["tests/test_answer_types.py"],
    ),
    Mutation(
        "byline-not-in-hash", "a byline fixed in the file never reaches the index (the author left out of Article.hash)",
        "qa/articles.py", '            parts.append(self.author)',
        '            pass',
        ["tests/test_store.py::test_a_byline_change_alone_reaches_the_index_without_embedding"],
    ),
    Mutation(
        "hash-moves-without-byline", "every article without a byline 'changed' after the upgrade (an empty author hashed too)",
        "qa/articles.py", '        if self.author:\n            parts.append(self.author)',
        '        if True:\n            parts.append(self.author)',
        ["tests/test_store.py::test_an_index_built_before_bylines_opens_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "local-author-not-stored", "the local store drops the author on writing",
        "qa/stores/local.py", 'a.hash, a.text, a.author) for a in',
        'a.hash, a.text, "") for a in',
        ["tests/test_store.py::test_authors_are_stored_and_reach_citations"],
    ),
    Mutation(
        "local-old-index-column-assumed", "an index built before bylines read as if it had the author column (it fails to open)",
        "qa/stores/local.py", '        return f"{table}author" if self._has_author else "\'\'"',
        '        return f"{table}author"',
        ["tests/test_store.py::test_an_index_built_before_bylines_opens_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "local-old-index-not-migrated", "an index built before bylines not given the author column by its next write",
        "qa/stores/local.py", '                    db.execute(_ADD_AUTHOR)',
        '                    pass',
        ["tests/test_store.py::test_an_index_built_before_bylines_opens_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "local-reader-misses-new-column", "a reader open across the upgrade never reads the bylines a write added",
        "qa/stores/local.py", '            self._has_author = self._author_stored()  # a writer may have added the column meanwhile',
        '            pass',
        ["tests/test_store.py::test_an_index_built_before_bylines_opens_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "local-new-generation-author-unread", "a reader of an old generation reads no bylines from the rebuilt one",
        "qa/stores/local.py", '                self._has_author = fresh._has_author\n',
        '',
        ["tests/test_store.py::test_an_index_built_before_bylines_opens_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "citation-without-author", "citations built from stored passages without the article's author",
        "qa/retrieval.py", 'cosine=cosine, author=a.author)',
        'cosine=cosine)',
        ["tests/test_store.py::test_authors_are_stored_and_reach_citations"],
    ),
    Mutation(
        "milvus-author-not-stored", "the Milvus store drops the author on writing",
        "qa/stores/milvus.py", '        row["author"] = a.author',
        '        row["author"] = ""',
        ["tests/test_store_milvus.py::test_bylines_round_trip_and_a_byline_fix_costs_no_embedding"],
    ),
    Mutation(
        "milvus-citation-author-unread", "Milvus passages (and so citations) come without their article's author",
        "qa/stores/milvus.py", 'r["url"], r.get("author") or "") for r in rows]',
        'r["url"], "") for r in rows]',
        ["tests/test_store_milvus.py::test_bylines_round_trip_and_a_byline_fix_costs_no_embedding"],
    ),
    Mutation(
        "milvus-old-collection-field-assumed", "a Milvus collection made before bylines read as if it had the author field",
        "qa/stores/milvus.py", '        return ["author"] if self._has_author else []',
        '        return ["author"]',
        ["tests/test_store_milvus.py::test_a_collection_made_before_bylines_still_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "milvus-old-collection-not-migrated", "a Milvus collection made before bylines never gets them",
        "qa/stores/milvus.py", '                self._add_author()  # a collection made before bylines were stored',
        '                pass',
        ["tests/test_store_milvus.py::test_a_collection_made_before_bylines_still_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "milvus-old-collection-dropped-under-a-reader", "the pre-byline articles collection dropped while another store still reads it",
        "qa/stores/milvus.py", '            if not self._published or self._sole_user():',
        '            if True:',
        ["tests/test_store_milvus.py::test_a_collection_made_before_bylines_still_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "milvus-reader-misses-new-collection-field", "a Milvus reader that switches to the migrated collection reads no bylines",
        "qa/stores/milvus.py", '                self._passages, self._articles = names\n                self._check_author()\n',
        '                self._passages, self._articles = names\n',
        ["tests/test_store_milvus.py::test_a_collection_made_before_bylines_still_answers_and_gets_them_without_embedding"],
    ),
    Mutation(
        "cli-no-evidence", "qa ask without the sentence that states the answer",
        "qa/cli.py", '        if result.evidence is not None:  # the sentence that states it',
        '        if False:  # the sentence that states it',
        ["tests/test_cli.py::test_ask_prints_the_sentence_behind_the_answer_and_the_byline"],
    ),
    Mutation(
        "cli-no-byline", "qa ask's sources without their byline",
        "qa/cli.py", 'f"by {c.author}" if c.author else ""',
        '""',
        ["tests/test_cli.py::test_ask_prints_the_sentence_behind_the_answer_and_the_byline"],
    ),
    # --- the page for everyone (issue 22): the sentence and byline on the page, axe-core, a phone, the trash can, the panel ---
    Mutation(
        "page-evidence-hidden", "the page's reply without the sentence behind the answer",
        "qa/web/render.py", "        parts.append(_evidence(answer))\n", "",
        ["tests/test_render.py"],
    ),
    Mutation(
        "copy-without-sentence", "Copy without the sentence behind the answer in quotes",
        "qa/web/render.py", "        lines.append(f\"“{_one_line(ev.text).strip()}”\")\n", "",
        ["tests/test_render.py"],
    ),
    Mutation(
        "cite-head-no-byline", "a source on the page without its byline",
        "qa/web/render.py", "(c.date, byline(c.author), c.source, page_label(c.page)", "(c.date, c.source, page_label(c.page)",
        ["tests/test_render.py"],
    ),
    Mutation(
        "article-view-no-byline", "the article viewer without the byline",
        "qa/web/render.py", "(article.get(\"date\", \"\"), byline(article.get(\"author\", \"\")), article.get(",
        "(article.get(\"date\", \"\"), article.get(",
        ["tests/test_render.py"],
    ),
    Mutation(
        "more-counts-passages", "'and N more' counts the passages of one article again",
        "qa/web/render.py", "        others = len({c.article_id for c, _ in sources} - {top.article_id})",
        "        others = len(sources) - 1",
        ["tests/test_render.py"],
    ),
    Mutation(
        "show-link-without-range", "'show article' links name the article only, not the range to mark",
        "qa/web/render.py", "        frag += f\"&start={int(start)}&end={int(end)}\"\n", "        pass\n",
        ["tests/test_render.py"],
    ),
    Mutation(
        "show-article-unmarked", "the article viewer marks nothing of what the link names",
        "qa/web/render.py", "    if mark is not None and 0 <= mark[0] < mark[1] <= len(text):", "    if False:",
        ["tests/test_render.py",
         "tests/test_page.py::test_on_a_phone_show_article_scrolls_to_the_cited_passage_and_marks_it"],
    ),
    Mutation(
        "page-not-scrolled-to-article", "'show article' leaves the article where it is (below the screen on a phone)",
        "qa/web/app.py", "    requestAnimationFrame(showArticle);\n  }).observe(", "    void 0;\n  }).observe(",
        ["tests/test_page.py::test_on_a_phone_show_article_scrolls_to_the_cited_passage_and_marks_it"],
    ),
    Mutation(
        "article-text-not-scrolled-to-range", "the viewer's text not scrolled to the marked range",
        "qa/web/app.py", "    box.scrollTop += cited.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;\n", "",
        ["tests/test_page.py::test_on_a_phone_show_article_scrolls_to_the_cited_passage_and_marks_it"],
    ),
    Mutation(
        "chat-label-floats", "the chat's label floats over its messages (covers a scrolled answer's first line)",
        "qa/web/app.py", "#qa-chat label[data-testid=\"block-label\"] { position: static;", "#qa-chat label[data-testid=\"block-label\"] {",
        ["tests/test_page.py::test_on_a_phone_the_chats_label_never_covers_a_scrolled_answer"],
    ),
    Mutation(
        "chat-messages-faded", "chat messages at Gradio's 80% opacity (grey lines at 4.35:1)",
        "qa/web/app.py", "#qa-chat .prose.chatbot.md { opacity: 1; }\n", "",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "ask-button-contrast", "the Ask button in the theme's indigo 500 (4.46:1)",
        "qa/web/app.py", "button_primary_background_fill=\"*primary_600\"", "button_primary_background_fill=\"*primary_500\"",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "label-contrast", "component labels in the theme's indigo 500 on indigo 100 (3.62:1)",
        "qa/web/app.py", "block_label_text_color=\"*primary_700\"", "block_label_text_color=\"*primary_500\"",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "footer-contrast", "subdued text (the footer's 'Use via API') in the theme's grey 400 (2.42:1)",
        "qa/web/app.py", "body_text_color_subdued=\"*neutral_600\"", "body_text_color_subdued=\"*neutral_400\"",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "upload-zone-misnamed", "the upload zone named other words than it shows",
        "qa/web/app.py", "      if (shown && !zone.getAttribute('aria-label').includes(shown)) {", "      if (false) {",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "article-text-unfocusable", "the article's scrolling text out of a keyboard's reach",
        "qa/web/render.py", "<div class=\"qa-article-text\" tabindex=\"0\" ", "<div class=\"qa-article-text\" ",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "page-without-h1", "the page's heading an h2 (no h1)",
        "qa/web/app.py", "        return (f\"# Ask the articles", "        return (f\"## Ask the articles",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "article-heading-skips-level", "the article's title an h3 under the page's h1",
        "qa/web/render.py", "<h2>{_text(article[\"title\"])}</h2>", "<h3>{_text(article[\"title\"])}</h3>",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "question-box-unnamed", "the question box announced as 'Textbox'",
        "qa/web/app.py", "gr.Textbox(label=\"Your question\", ", "gr.Textbox(",
        ["tests/test_page.py::test_no_serious_accessibility_problem_in_the_pages_main_states"],
    ),
    Mutation(
        "trash-can-keeps-conversation", "the chat's trash can clears the bubbles but not the conversation",
        "qa/web/app.py", "        chatbot.clear(lambda: [], None, turns, queue=False, api_visibility=\"private\")\n", "",
        ["tests/test_page.py::test_the_chats_trash_can_clears_the_conversation_too"],
    ),
    Mutation(
        "panel-never-follows", "the articles panel follows the index only on reload",
        "qa/web/app.py", "        poll.tick(follow, ", "        0 and poll.tick(follow, ",
        ["tests/test_page.py::test_the_articles_panel_follows_the_index_without_a_reload"],
    ),
    Mutation(
        "panel-blank-row", "a filter that matches nothing shows a blank row",
        "qa/web/app.py", "        return [[r[\"title\"], r[\"date\"], r[\"source\"]] for r in rows]\n",
        "        return [[r[\"title\"], r[\"date\"], r[\"source\"]] for r in rows] or [[\"\", \"\", \"\"]]\n",
        ["tests/test_page.py::test_a_filter_that_matches_nothing_says_so"],
    ),
    Mutation(
        "panel-no-match-silent", "a filter that matches nothing says nothing",
        "qa/web/app.py", "    if not shown:\n        said =", "    if False:\n        said =",
        ["tests/test_render.py::test_the_article_list_says_when_it_lists_only_the_newest_or_nothing",
         "tests/test_page.py::test_a_filter_that_matches_nothing_says_so"],
    ),
    Mutation(
        "conversation-he-any-kind", "'he'/'she' may stand for a company or a place, not only a person",
        "qa/conversation.py", '**dict.fromkeys(("he", "him", "his", "she", "her", "hers"), {PERSON}),',
        '**dict.fromkeys(("he", "him", "his", "she", "her", "hers"), {PERSON, THING, PLACE}),',
        ["tests/test_conversation.py"],
    ),
    Mutation(
        "conversation-it-a-person", "'it' may stand for a person",
        "qa/conversation.py", '**dict.fromkeys(("it", "its"), {THING, PLACE}),',
        '**dict.fromkeys(("it", "its"), {THING, PLACE, PERSON}),',
        ["tests/test_conversation.py"],
    ),
    Mutation(
        "conversation-they-one-person", "'they' may stand for one person",
        "qa/conversation.py", '{THING, PLACE, GROUP}),', '{THING, PLACE, GROUP, PERSON}),',
        ["tests/test_conversation.py"],
    ),
    Mutation(
        "conversation-substring-names", "a name counted as said when it is inside a longer word ('Ali' in 'Mali')",
        "qa/conversation.py", '    return _find(text, name) >= 0', '    return name.lower() in text.lower()',
        ["tests/test_conversation.py"],
    ),
    Mutation(
        "conversation-roles-ignored", "a role ('the former chief executive of Veltrix') is no referent",
        "qa/conversation.py", "for at, e in _roles(turn.question) if not", "for at, e in [] if not",
        ["tests/test_conversation.py"],
    ),
    Mutation(
        "quotes-any-speaker-matches", "every speaker fits the question's speaker words (another speaker's quote may be shown)",
        "qa/quotes.py", "    share = len(wanted & have) / len(wanted)\n", "    share = 1.0\n",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-speaker-substring", "speaker words matched inside other words ('Ali' in 'Alim'), not as whole words",
        "qa/quotes.py", "    share = len(wanted & have) / len(wanted)\n",
        "    share = sum(any(w in h for h in have) for w in wanted) / len(wanted)\n",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "question-embedded-per-search", "each search made for one question embeds it again",
        "qa/embedding.py", "RECENT_TEXTS = 16 ", "RECENT_TEXTS = 0 ",
        ["tests/test_news.py"],
    ),
    Mutation(
        "quotes-owner-is-speaker", "a speaker described by whose they are ('Marensky's lawyer') fits a question about the owner",
        "qa/quotes.py", "        have |= rest | (owners if wanted & rest else set())\n", "        have |= rest | owners\n",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-weaker-speakers-kept", "quotes of speakers who fit the question less well than the best kept as candidates",
        "qa/quotes.py", "    said = [s for s in said if s.match == top or not best_speakers_only]",
        "    said = [s for s in said if s.match > 0]",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-pronoun-first-named", "'he said' given to the first person the paragraph names, not the last",
        "qa/quotes.py", "            return here[-1].name", "            return here[0].name",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-she-any-person", "'she said' may be a man the article calls Mr",
        "qa/quotes.py", "                return p.female is not False", "                return True",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-role-not-resolved", "'the former chief executive said' not resolved to the person the article describes so",
        "qa/quotes.py", "            if len(fits) == 1:\n                return fits[0], phrase.description",
        "            if False:\n                return fits[0], phrase.description",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-no-reported-speech", "reported speech ('X said that ...', 'according to X') not found",
        "qa/quotes.py", "        _reported(art, ps, pe, sentences, spans, prev)", "        pass",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-topic-ignored", "the speaker's first quote given whatever the question asks about",
        "qa/quotes.py", "    return sorted(said, key=lambda s: (-s.probability, -s.topic, s.quote.start))",
        "    return sorted(said, key=lambda s: s.quote.start)",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-never-declined", "a quote of the speaker shown even when it is not about the topic",
        "qa/quotes.py", "    if best is not None and confidence >= min_confidence:", "    if best is not None:",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-plain-answer-in-another-quote", "the reader's span shown although it is another speaker's quote",
        "qa/quotes.py", "        if other is not None:\n", "        if False:\n",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-fragment-continues", "quoted words inside a sentence without a speaker taken as the next quote's speaker's",
        "qa/quotes.py", "            if text[_sentence_of(sentences, sp.open)[0]:sp.open].strip():", "            if False:",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-role-not-resolved-across-articles", "a role an article names no one for left unresolved across the articles read",
        "qa/quotes.py", "                name = fits[0] if len(fits) == 1 else \"\"", "                name = \"\"",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-engine-hook-off", "quote questions answered by the reader alone",
        "qa/engine.py", "        if said is not None:  # \"What did X say about Y?\"", "        if False:  # \"What did X say about Y?\"",
        ["tests/test_quotes.py::test_engine_answers_with_the_speakers_own_words_citing_the_quote",
         "tests/test_quotes.py::test_engine_declines_for_a_speaker_who_said_nothing_about_it"],
    ),
    # Issue 23: processes that wait instead of failing, the remembered folder, the removal guard.
    Mutation(
        "watch-failure-marked-seen", "a failed re-index of the folder watch taken as done (the change is never indexed)",
        "qa/watch.py", "                continue  # not marked as seen: the same change is indexed again", "                pass",
        ["tests/test_watch.py"],
    ),
    Mutation(
        "index-jobs-not-in-line", "the upload's and the watch's `qa index` run at once (one is refused by the other's build)",
        "qa/watch.py", "        with _JOBS:", "        with threading.Lock():",
        ["tests/test_watch.py::test_the_chats_index_jobs_run_one_at_a_time"],
    ),
    Mutation(
        "keyword-rows-left-on-delete", "a deleted article's keyword documents left in the keyword index, crowding out live passages",
        "qa/stores/local.py", '                db.executemany("INSERT INTO keyword_log VALUES (?, ?, 0)", [(version, v) for v, _ in gone])',
        "                pass",
        ["tests/test_store.py::test_deleted_articles_leave_no_keyword_rows"],
    ),
    Mutation(
        "sq8-not-reranked", "an SQ8 HNSW segment's hits ranked and scored by their 8-bit approximations",
        "qa/stores/local.py", "        if self.rerank and len(rows):", "        if False and len(rows):",
        ["tests/test_dense_search.py"],
    ),
    Mutation(
        "sq8-vector-from-codes", "a passage's vector read back from the SQ8 codes instead of the stored vector",
        "qa/stores/local.py", "                return np.array(loaded.vectors[row], dtype=np.float32)",
        "                return np.asarray(loaded.index.reconstruct(row), dtype=np.float32)",
        ["tests/test_dense_search.py"],
    ),
    Mutation(
        "sq8-too-few-candidates", "an SQ8 HNSW segment re-ranks only as many candidates as results",
        "qa/stores/local.py", "        wanted = min(k * RERANK, live) if self.rerank else k", "        wanted = k",
        ["tests/test_dense_search.py"],
    ),
    Mutation(
        "ivf-probe-one-list", "an IVF segment's search probes one list (recall falls)",
        "qa/stores/local.py", "            self.nprobe = max(min(self.index.nlist, IVF_MIN_PROBE), self.index.nlist // IVF_PROBE_SHARE)",
        "            self.nprobe = 1",
        ["tests/test_dense_search.py"],
    ),
    Mutation(
        "auto-never-approximate", "'auto' keeps large segments exact (a 1M flat search per question)",
        "qa/stores/local.py", '        return "ivf" if rows > APPROX_ABOVE else "flat"', '        return "flat"',
        ["tests/test_dense_search.py::test_auto_uses_ivf_above_the_threshold_and_deleted_vectors_are_skipped"],
    ),
    Mutation(
        "ivf-deleted-not-skipped", "an IVF segment's search ignores deleted vectors (they take places in the top k)",
        "qa/stores/local.py", "            params = faiss.SearchParametersIVF(sel=self.selector, nprobe=self.nprobe)",
        "            params = faiss.SearchParametersIVF(nprobe=self.nprobe)",
        ["tests/test_dense_search.py::test_auto_uses_ivf_above_the_threshold_and_deleted_vectors_are_skipped"],
    ),
    Mutation(
        "workers-answered-counted-ahead", "with several answering processes, questions being answered still count as ahead",
        "qa/web/worker.py", "            return max(0, sum(1 for t in self._line if t < ticket) - (self.workers - 1))",
        "            return sum(1 for t in self._line if t < ticket)",
        ["tests/faults/test_worker.py::test_several_answering_processes_share_the_line"],
    ),
    Mutation(
        "workers-one-process", "qa serve --workers N starts one answering process",
        "qa/web/worker.py", "        return ProcessPoolExecutor(self.workers, mp_context", "        return ProcessPoolExecutor(1, mp_context",
        ["tests/faults/test_worker.py::test_several_answering_processes_share_the_line"],
    ),
    Mutation(
        "workers-lite-several", "a Milvus Lite file (one process may open it) given several answering processes",
        "qa/web/worker.py", "    if is_lite_location(location):\n        return 1\n", "",
        ["tests/faults/test_worker.py::test_default_workers_follow_the_cores_and_milvus_lite_gets_one"],
    ),
    Mutation(
        "workers-unbounded", "the default number of answering processes not capped (each holds the models)",
        "qa/web/worker.py", "    return max(1, min(cpus or os.cpu_count() or 1, 4))", "    return max(1, cpus or os.cpu_count() or 1)",
        ["tests/faults/test_worker.py::test_default_workers_follow_the_cores_and_milvus_lite_gets_one"],
    ),
    Mutation(
        "keyword-reader-never-reloads", "a reader keeps searching the keyword index as it first loaded it",
        "qa/stores/local.py", "                if applied is not None and applied != self._kw_version and (",
        "                if False and (",
        ["tests/test_keyword_index.py::test_a_reader_in_another_process_sees_a_writers_keywords"],
    ),
    Mutation(
        "keyword-reader-reloads-on-sqlite-version", "a reader reloads the keyword index only when SQLite's version moves (misses Tantivy's later commit)",
        "qa/stores/local.py", "                applied = KeywordIndex.read_applied(folder)",
        "                applied = self._version",
        ["tests/test_keyword_index.py::test_a_reader_in_another_process_sees_a_writers_keywords"],
    ),
    Mutation(
        "keyword-log-not-applied", "a write's keyword changes logged but never applied to the keyword index",
        "qa/stores/local.py", "                        kw.apply(self._bodies(added), deleted, version)", "                        pass",
        ["tests/test_keyword_index.py::test_search_finds_only_live_passages_and_reads_titles"],
    ),
    Mutation(
        "keyword-deleted-hits-kept", "keyword hits for passages the SQLite state no longer lists are returned",
        "qa/stores/local.py", "        return [(ids[v], s) for v, s in scored if v in ids]",
        "        return [(ids.get(v, f'gone:{v}'), s) for v, s in scored]",
        ["tests/test_keyword_index.py::test_kill_9_during_the_keyword_update"],
    ),
    Mutation(
        "keyword-not-caught-up-by-tidy", "qa index (tidy) does not catch up a keyword index a killed writer left behind",
        "qa/stores/local.py", "        self._sync_keywords(check=True)", "        pass",
        ["tests/test_keyword_index.py::test_kill_9_during_the_keyword_update"],
    ),
    Mutation(
        "keyword-count-unchecked", "tidy keeps a keyword index that does not hold every stored passage",
        "qa/stores/local.py", '                        if len(kw) != self._state("passages", 0):', "                        if False:",
        ["tests/test_keyword_index.py::test_a_missing_damaged_or_short_keyword_index_is_rebuilt_by_the_next_writer"],
    ),
    Mutation(
        "keyword-replay-duplicates", "a change applied again after a kill adds a second copy of its passages",
        "qa/stores/keyword.py", "                if not fresh:", "                if False:",
        ["tests/test_keyword_index.py::test_a_write_after_a_killed_keyword_update_catches_up_without_a_rebuild"],
    ),
    Mutation(
        "keyword-applied-not-recorded", "a write with nothing for the keyword index leaves APPLIED behind (the next one rebuilds it all)",
        "qa/stores/local.py", "                        kw.set_applied(version)  # nothing to apply", "                        pass  # nothing to apply",
        ["tests/test_keyword_index.py::test_a_write_after_a_killed_keyword_update_catches_up_without_a_rebuild"],
    ),
    Mutation(
        "keyword-analyzer-no-folding", "the keyword analyzer keeps accents (café and cafe differ)",
        "qa/stores/keyword.py", "            .filter(tantivy.Filter.ascii_fold())\n", "",
        ["tests/test_keyword_index.py::test_analysis_is_the_milvus_analyzers"],
    ),
    Mutation(
        "empty-article-hash", "an empty content hash stored for every article (every run rewrites everything)",
        "qa/stores/local.py", "[(a.id, a.title, a.date, a.source, a.url, a.hash, a.text, a.author) for a in (r.article for r in upsert)]",
        "[(a.id, a.title, a.date, a.source, a.url, '', a.text, a.author) for a in (r.article for r in upsert)]",
        ["tests/test_store.py::test_an_unchanged_article_is_not_written_again"],
    ),
    Mutation(
        "sqlite-lock-said-as-disk-problem", "a held SQLite lock reported as 'free disk space or fix the permissions'",
        "qa/stores/local.py", "        if _locked(e):", "        if False:",
        ["tests/faults/test_index_faults.py::test_a_held_sqlite_lock_is_named_not_a_disk_problem"],
    ),
    Mutation(
        "build-lock-holder-unnamed", "a refused build does not say which process holds the lock",
        "qa/stores/local.py", "                holder = lock_holder(root) or \"another process\"", "                holder = \"another process\"",
        ["tests/faults/test_index_faults.py::test_two_builds_at_once"],
    ),
    Mutation(
        "removal-guard-off", "a run that removes more than half of the index's articles goes ahead without --yes",
        "qa/indexing.py", "        if old and removed > max_removed_share * len(old):", "        if False:",
        ["tests/faults/test_remembered_folder.py"],
    ),
    Mutation(
        "remembered-folder-ignored", "qa index without --articles indexes the default folder, not the one the index was built from",
        "qa/cli.py", "    return (folder, \"the folder this index was built from\") if folder else (None, \"\")", "    return None, \"\"",
        ["tests/faults/test_remembered_folder.py"],
    ),
    Mutation(
        "bad-model-name-not-checked", "a model name that is neither bundled nor a folder goes to the hub (and a traceback)",
        "qa/config.py", "                    why := _model_problem(f.name, value, self.allow_downloads)):", "                    why := ''):",
        ["tests/faults/test_bad_values.py"],
    ),
    Mutation(
        "milvus-unicode-key-quoting", "Milvus filter literals quoted with JSON's ASCII escapes: non-ASCII ids never deleted or shrunk",
        "qa/stores/milvus.py", """    return '"' + value.replace("\\\\", "\\\\\\\\").replace('"', '\\\\"') + '"'""",
        "    return json.dumps(value)",
        ["tests/test_store_contract.py::test_ids_of_every_kind_through_add_shrink_and_delete"],
    ),
    Mutation(
        "milvus-refresh-without-settings", "a Milvus reader follows a rebuild without reading its settings",
        "qa/stores/milvus.py", "            self._settings = StoreSettings(**data[\"settings\"])\n        return changed",
        "        return changed",
        ["tests/test_store_contract.py::test_refresh_after_a_rebuild_follows_its_settings_and_refuses_another_model"],
    ),
    Mutation(
        "milvus-refresh-other-model-followed", "a Milvus reader follows a rebuild with another embedding model, keeping its old model name",
        "qa/stores/milvus.py", "                if (new.embedding_model, new.dimension) != (old.embedding_model, old.dimension):",
        "                if False:",
        ["tests/test_store_contract.py::test_refresh_after_a_rebuild_follows_its_settings_and_refuses_another_model"],
    ),
    Mutation(
        "milvus-upsert-delete-one-id", "an id both upserted and deleted in one Milvus write loses its new version",
        "qa/stores/milvus.py", "        delete = [d for d in dict.fromkeys(delete) if d not in set(ids)]",
        "        delete = list(dict.fromkeys(delete))",
        ["tests/test_store_contract.py::test_upsert_and_delete_of_one_id_in_one_write_keeps_the_new_version"],
    ),
    Mutation(
        "milvus-publish-drops-build-being-written", "a Milvus publish drops the collections of a build another store is writing",
        "qa/stores/milvus.py", "            keep = {self._passages, self._articles, *(live or ()), *self._builds_in_progress()}",
        "            keep = {self._passages, self._articles, *(live or ())}",
        ["tests/test_store_contract.py::test_publish_while_another_build_is_written_keeps_that_build"],
    ),
    Mutation(
        "milvus-crash-no-repair", "a Milvus write killed half way is not repaired (its pending list ignored)",
        "qa/stores/milvus.py", "        pending = (data or {}).get(\"pending\")\n", "        pending = None\n",
        ["tests/test_store_contract.py::test_a_write_killed_at_any_step_is_repaired_by_the_next_update"],
    ),
    # --- issue 25: PDF and Word articles, cited by page ---
    Mutation(
        "pdf-columns-ignored", "a page of columns read row by row across them",
        "qa/formats/pdf.py", "    cuts = gutters(rows, em)\n", "    cuts = []\n",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "pdf-running-rows-kept", "running headers, footers and page numbers kept in the text",
        "qa/formats/pdf.py", "        page.rows = [r for r in page.rows if id(r) not in drop]",
        "        page.rows = list(page.rows)",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "pdf-hyphens-kept", "a word hyphenated at a line's end left in two halves",
        "qa/formats/pdf.py", "        if text and text[-1] in _HYPHENS and len(text) > 1",
        "        if False and text and text[-1] in _HYPHENS and len(text) > 1",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "pdf-page-marks-dropped", "pages joined without a page mark (every citation on page 1)",
        "qa/formats/pdf.py", '            text = f"{text}\\n{PAGE_MARK}\\n{page}" if text or n else page',
        '            text = f"{text}\\n{page}" if text or n else page',
        ["tests/test_documents.py"],
    ),
    Mutation(
        "pdf-table-cells-run-together", "a table's rows run together into one paragraph",
        "qa/formats/pdf.py", "CELL_EM = 2.0", "CELL_EM = 1e9",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "pdf-scan-unnamed", "a page that is only an image not named in a warning",
        "qa/formats/pdf.py", "            scanned = not words and any(", "            scanned = False and any(",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "pdf-password-unsaid", "a PDF locked with a password reported as damaged",
        "qa/formats/pdf.py", '    if "password" in message.lower():', "    if False:",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "documents-no-time-budget", "a slow PDF read to the end, however long it takes",
        "qa/formats/isolated.py", "                line = self._answers.get(timeout=seconds)", "                line = self._answers.get()",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "documents-size-unchecked", "a PDF over Config.max_document_bytes read anyway",
        "qa/articles.py", "        if size > self.max_document_bytes:", "        if False:",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "documents-leading-page-mark-stripped", "a PDF's text trimmed of its page marks at the ends (pages counted wrong)",
        "qa/articles.py", "            text=fields.text if fields.pages else fields.text.strip(),", "            text=fields.text.strip(),",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "docx-tables-skipped", "a Word document's tables left out",
        "qa/formats/word.py", "            for row in item.rows:", "            for row in []:",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "docx-bomb-unpacked", "a .docx that unpacks to gigabytes opened anyway",
        "qa/formats/word.py", "    if unpacked > MAX_UNPACKED_BYTES:", "    if False:",
        ["tests/test_documents.py"],
    ),
    Mutation(
        "page-of-the-passage", "a citation's page taken where its passage starts, not its answer",
        "qa/pages.py", "        at = c.answer_start if isinstance(c, Citation) else c.passage_start", "        at = c.passage_start",
        ["tests/test_pdf_pages.py"],
    ),
    Mutation(
        "page-not-in-copy", "the Copy text without the cited page",
        "qa/web/render.py", "    return \", \".join(x for x in (c.title, c.date, byline(c.author), where, page_label(c.page)) if x)",
        "    return \", \".join(x for x in (c.title, c.date, byline(c.author), where) if x)",
        ["tests/test_pdf_pages.py"],
    ),
    Mutation(
        "original-outside-folder", "a file outside the articles folder offered as an article's original",
        "qa/web/library.py", "    if not path.is_relative_to(folder) or not path.is_file():", "    if not path.is_file():",
        ["tests/test_pdf_pages.py"],
    ),
    # --- the layers sweep (issue 26) ---
    Mutation(
        "citation-of-passage-start", "an answer's citation points at its passage's start, not at the answer",
        "qa/retrieval.py", "answer_start=answer_start, answer_end=answer_end)", "answer_start=source.passage_start, answer_end=answer_end)",
        ["tests/test_e2e.py::test_answer_with_citation"],
    ),
    Mutation(
        "answer-line-without-date", "`qa ask` prints a relative answer without the day it means",
        "qa/answers.py", '        return f"{self.answer} — {news.describe(self.answer_date)}" if self.answer_date else self.answer',
        "        return self.answer",
        ["tests/test_cli.py", "tests/test_render.py"],
    ),
    Mutation(
        "page-count-never-read", "the chat's web process never reads the index's count (the page keeps the count it started with)",
        "qa/indexing.py", "    return _read_index(location, lambda store: store.stats())", "    return None",
        ["tests/test_live.py", "tests/test_web.py"],
    ),
    Mutation(
        "quotes-club-a-person", "a sports club's name ('Ashgrove Rovers') read as a person's, so 'he said' goes to it",
        "qa/quotes.py", '    "rovers", "united", "wanderers", "athletic", "rangers", "albion",  # sports clubs ("Ashgrove Rovers said")\n', "",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-bare-surname-unknown", "a surname alone ('Greaves declined to comment') is not taken as a person",
        "qa/quotes.py", "                            and not (n.start == 0 and _PERSON_VERB.match(sentence[n.end:])) \\\n", "",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-role-not-required", "asked for 'the Rovers manager', a speaker sharing only 'Rovers' fits as well as the manager",
        "qa/quotes.py", "        share /= 2\n", "        share /= 1\n",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-organisation-holds-a-role", "an organisation's statement fits a question about its manager",
        "qa/quotes.py", "    if roles and organisation:\n        return 0.0\n", "",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-no-comment-is-topic", "what a speaker declined to comment on counts as the topic of their quote",
        "qa/quotes.py", "        if not quote.start <= m.start() < quote.end:\n", "        if False:\n",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-said-back-appositive", "'X, the club said on Monday, the first decision ...' is not read as the club's words",
        "qa/quotes.py", "(?:and|but|the|a|an|which|as|after|while)", "(?:and|but)",
        ["tests/test_quotes.py"],
    ),
    Mutation(
        "quotes-topicless-judged-on-topic", "'What did Lavrov say?' (no topic) is judged by how close a quote is to the question's words",
        "qa/quotes.py", "            s.probability = calibration.probability(s.match, 1.0, 1.0, 1.0, s.direct)\n",
        "            s.probability = calibration.probability(s.match, s.topic, s.overlap, s.title, s.direct)\n",
        ["tests/test_e2e.py"],
    ),
    Mutation(
        "ivf-codes-copied", "each answering process reads its own copy of an IVF segment's codes (none shared)",
        "qa/stores/local.py", 'faiss.read_index(str(folder / "index.faiss"), getattr(faiss, "IO_FLAG_MMAP_IFC", 0))',
        'faiss.read_index(str(folder / "index.faiss"))',
        ["tests/test_dense_search.py"],
    ),
]


def run_one(m: Mutation, timeout: float, deselect: list[str] | None = None) -> tuple[str, str]:
    """Apply one mutation, run its tests, restore the file. Returns (outcome, detail)."""
    path = ROOT / m.file
    if not path.exists():
        return "target not found", f"{m.file} does not exist"
    original = path.read_text()
    count = original.count(m.old)
    if count == 0:
        return "target not found", f"{m.old.splitlines()[0].strip()!r} not in {m.file}"
    if count > 1:
        return "target ambiguous", f"{count} matches in {m.file}"
    try:
        path.write_text(original.replace(m.old, m.new))
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *m.tests]
        for node in deselect or []:  # tests that fail without any mutation would "kill" every mutation
            cmd += ["--deselect", node]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        try:
            r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "error", f"tests ran past {timeout:.0f} s"
    finally:
        path.write_text(original)  # restored on success, failure, Ctrl-C or SIGTERM alike
    failed = [line for line in r.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    if r.returncode == 1:
        return "killed", failed[0] if failed else "tests failed"
    if r.returncode == 0:
        return "SURVIVED", r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    return "error", f"pytest exit code {r.returncode}: {(r.stdout + r.stderr).strip().splitlines()[-1:]}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Apply one-line breakages and report which the tests miss.")
    parser.add_argument("--only", nargs="*", help="run only these mutations (by name)")
    parser.add_argument("--list", action="store_true", help="list the mutations and whether their targets are found")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutation's test run")
    parser.add_argument("--deselect", action="append", default=[], metavar="NODEID",
                        help="leave out a test that already fails without mutations (repeatable)")
    args = parser.parse_args()

    # SIGTERM unwinds like Ctrl-C, so the finally clause restores the file being mutated.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    unknown = set(args.only or []) - {m.name for m in MUTATIONS}
    if unknown:
        print(f"unknown mutation(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    rows = []
    for m in chosen:
        if args.list:
            text = (ROOT / m.file).read_text() if (ROOT / m.file).exists() else ""
            n = text.count(m.old)
            rows.append((m.name, m.file, "ok" if n == 1 else "target not found" if n == 0 else f"{n} matches", m.what))
            continue
        t0 = time.perf_counter()
        outcome, detail = run_one(m, args.timeout, args.deselect)
        rows.append((m.name, m.file, outcome, f"{detail} ({time.perf_counter() - t0:.0f} s)"))
        print(f"{m.name}: {outcome}: {detail}", file=sys.stderr, flush=True)
    print("| mutation | file | outcome | detail |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(x).replace("|", "\\|") for x in row) + " |")
    survived = [r for r in rows if r[2] != "killed" and not args.list]
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
