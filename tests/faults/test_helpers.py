"""The suite's own check: `assert_nothing_lost` notices a lost article (so a passing fault test means something)."""

import pytest

from conftest import FACTS, assert_nothing_lost, build_index, snapshot


def test_nothing_lost_holds_for_an_untouched_index(indexed, engine_models):
    assert snapshot(indexed.index, engine_models.embedder) == indexed.before
    assert_nothing_lost(indexed.index, indexed.before, engine_models.embedder)


def test_nothing_lost_fails_when_an_article_is_gone(indexed, engine_models):
    (indexed.articles / FACTS[0].file).unlink()
    build_index(indexed.articles, indexed.index, engine_models.embedder)
    with pytest.raises(AssertionError, match="articles lost"):
        assert_nothing_lost(indexed.index, indexed.before, engine_models.embedder)
