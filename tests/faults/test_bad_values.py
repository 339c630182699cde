"""Bad settings on the command line and in QA_* variables: exit 2 with "error: <what>: <why>", nothing lost."""

import math

import pytest

from conftest import assert_nothing_lost, qa_cli
from qa.config import Config, ConfigError


@pytest.mark.parametrize("args,env,message", [
    (["ask", "Who heads the TNC?", "-k", "0"], {}, "error: --top-k 0: must be 1 or more"),
    (["ask", "Who heads the TNC?", "--threshold", "nan"], {}, "error: --threshold nan: must be a finite number"),
    (["ask", "Who heads the TNC?"], {"QA_TOP_K": "abc"}, "error: QA_TOP_K='abc': must be a whole number"),
    (["ask", "Who heads the TNC?"], {"QA_THRESHOLD": "inf"}, "error: QA_THRESHOLD='inf': must be a finite number"),
    (["search", "Libya", "-k", "-3"], {}, "error: --top-k -3: must be 1 or more"),
    (["index"], {"QA_INDEX_TYPE": "fastest"}, "error: QA_INDEX_TYPE='fastest': must be one of auto, flat, hnsw, ivf"),
    # Issue 23: each of these was a raw traceback (and the unknown model 77 s of retries against the hub).
    (["ask", "Who heads the TNC?"], {"QA_TOP_K": "99999999999999999999"},
     "error: QA_TOP_K='99999999999999999999': must be a whole number from 1 to 1,000"),
    (["ask", "Who heads the TNC?"], {"QA_READER_MODEL": "/nonexistent"},
     "error: QA_READER_MODEL='/nonexistent': must be bundled or a folder holding a reader"),
    (["ask", "Who heads the TNC?", "--reader", "/nonexistent"], {}, "error: --reader /nonexistent: must be bundled or a folder"),
    (["index"], {"QA_RAY": "bogus"}, "error: QA_RAY='bogus': must be off, auto, local or a Ray address such as ray://head:10001"),
    (["index"], {"QA_EMBEDDING_MODEL": "no-such-org/no-such-model"},
     "error: QA_EMBEDDING_MODEL='no-such-org/no-such-model': must be all-MiniLM-L6-v2 (bundled) or a folder holding a "
     "sentence-transformers model; 'no-such-org/no-such-model' is not a folder here, and qa does not download models "
     "from the Hugging Face hub unless QA_ALLOW_DOWNLOADS=1"),
])
def test_bad_value_is_named_and_nothing_is_lost(indexed, engine_models, args, env, message):
    r = qa_cli(*args, "--index", str(indexed.index), *(["--articles", str(indexed.articles)] if args[0] == "index" else []),
               env=env)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr  # one line, nothing else
    assert_nothing_lost(indexed.index, indexed.before, engine_models.embedder)


@pytest.mark.parametrize("settings,message", [
    ({"top_k": 0}, "top_k=0: must be 1 or more"),
    ({"top_k": True}, "top_k=True: must be a whole number"),
    ({"threshold": math.nan}, "threshold=nan: must be a finite number"),
    ({"max_article_bytes": 0}, "max_article_bytes=0: must be 1 or more"),
    ({"index_dir": ""}, "index_dir='': must be a non-empty text"),
])
def test_config_refuses_bad_values_in_python(settings, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Config(**settings)


def test_environment_limits_are_read_and_checked(monkeypatch):
    monkeypatch.setenv("QA_MAX_HISTORY_TURNS", "4")
    monkeypatch.setenv("QA_THRESHOLD", "0.5")
    cfg = Config.from_env()
    assert cfg.max_history_turns == 4 and cfg.threshold == 0.5
    assert Config.from_env(max_history_turns=7).max_history_turns == 7  # an explicit value wins
    monkeypatch.setenv("QA_MAX_UPLOAD_BYTES", "5MB")
    with pytest.raises(ConfigError, match="QA_MAX_UPLOAD_BYTES='5MB': must be a whole number"):
        Config.from_env()


def test_no_hub_access_unless_allowed(monkeypatch):
    """A hub id is refused offline (no download is tried); with QA_ALLOW_DOWNLOADS=1 it is the user's choice."""
    monkeypatch.setenv("QA_EMBEDDING_MODEL", "sentence-transformers/all-mpnet-base-v2")
    with pytest.raises(ConfigError, match="QA_ALLOW_DOWNLOADS=1"):
        Config.from_env()
    monkeypatch.setenv("QA_ALLOW_DOWNLOADS", "1")
    assert Config.from_env().embedding_model == "sentence-transformers/all-mpnet-base-v2"
    monkeypatch.setenv("QA_EMBEDDING_MODEL", "/no/such/folder")  # a path is never a hub id
    with pytest.raises(ConfigError, match="no folder /no/such/folder was found"):
        Config.from_env()
