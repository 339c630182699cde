import os
import socket
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# One answering process per `qa serve` the tests start (the default is one per core): the tests that
# kill or count the engine process mean that one; tests/faults/test_worker.py tries several.
os.environ.setdefault("QA_WORKERS", "1")

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def embedder():
    from qa.embedding import Embedder

    e = Embedder()
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def tiny_reader(tmp_path_factory) -> str:
    """A tiny, randomly initialised BERT QA model with the bundled tokenizer, saved to disk."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    from qa.offline.training import default_base_model

    path = tmp_path_factory.mktemp("tiny-reader")
    tok = AutoTokenizer.from_pretrained(default_base_model())
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=512)
    BertForQuestionAnswering(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def bundled_reader_available() -> bool:
    from qa.reader import BUNDLED_READER

    return (BUNDLED_READER / "model.safetensors").exists()


needs_reader = pytest.mark.skipif(not bundled_reader_available(), reason="the bundled reader is not trained yet")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def milvus_lite_runs(tmp: Path) -> str:
    """'' when Milvus Lite's embedded server starts here (a probe file in ``tmp``), else why it does not."""
    try:
        import milvus_lite  # noqa: F401
        from pymilvus import MilvusClient
    except ImportError as e:
        return f"{type(e).__name__}: {e}"
    why = ""
    for attempt in range(2):  # a first start of the embedded server can time out on a busy machine
        try:
            # As qa opens a Lite file (qa.stores.milvus._open_lite): pymilvus's default wait is shorter than a
            # first start of the embedded server from a cold disk cache (the module was skipped in a CI run).
            MilvusClient(str(tmp / "probe.db"), timeout=30).close()
            return ""
        except Exception as e:
            why = f"{type(e).__name__}: {e}"
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(tmp / "probe.db"))  # not reused half-started
    return why
