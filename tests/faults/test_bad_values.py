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
    (["index"], {"QA_INDEX_TYPE": "fastest"}, "error: QA_INDEX_TYPE='fastest': must be one of auto, flat, hnsw"),
])
def test_bad_value_is_named_and_nothing_is_lost(indexed, engine_models, args, env, message):
    r = qa_cli(*args, "--index", str(indexed.index), *(["--articles", str(indexed.articles)] if args[0] == "index" else []),
               env=env)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
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
