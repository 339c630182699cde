import json
import shutil

import numpy as np

from qa.embedding import Embedder, _MeanPooler, mean_pooling_layout, resolve_embedding_model

TEXTS = [
    "NATO Secretary-General Anders Fogh Rasmussen met President Medvedev in Sochi.",
    "Short.",
    "Russia's foreign minister Sergei Lavrov said the campaign went beyond the UN mandate. " * 12,
    "",
]


def test_bundled_model_uses_the_plain_path_and_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    embedder = Embedder(precision="fp32")  # (bf16, the default on CPUs that have it, is compared below)
    embedder.warm_up()
    assert isinstance(embedder._model, _MeanPooler)
    ours = embedder.embed(TEXTS)
    st = SentenceTransformer(resolve_embedding_model("all-MiniLM-L6-v2"), device="cpu")
    ref = st.encode(TEXTS, convert_to_numpy=True, normalize_embeddings=True)
    assert ours.shape == ref.shape == (len(TEXTS), embedder.dimension)
    assert ours.dtype == np.float32
    # Same vectors, whatever the batching and order (long texts are truncated the same way too).
    assert np.allclose(ours, ref, atol=1e-5)
    one_by_one = np.concatenate([embedder.embed([t]) for t in TEXTS])
    assert np.allclose(ours, one_by_one, atol=1e-5)


def test_other_layouts_fall_back_to_sentence_transformers(tmp_path):
    src = resolve_embedding_model("all-MiniLM-L6-v2")
    assert mean_pooling_layout(src) == 256
    model = tmp_path / "cls-model"
    shutil.copytree(src, model)
    pooling = model / "1_Pooling" / "config.json"
    cfg = json.loads(pooling.read_text())
    cfg.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(cfg))
    assert mean_pooling_layout(str(model)) is None
    e = Embedder(str(model))
    e.warm_up()
    assert not isinstance(e._model, _MeanPooler)
    vectors = e.embed(TEXTS[:2])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert mean_pooling_layout(str(tmp_path / "missing")) is None


def test_precision_auto_follows_the_cpu(monkeypatch):
    import qa.precision as emb

    monkeypatch.setattr(emb, "cpu_has_bf16", lambda: False)
    assert emb.resolve_precision("auto") == "fp32"  # never emulated bf16 (~16x slower)
    monkeypatch.setattr(emb, "cpu_has_bf16", lambda: True)
    assert emb.resolve_precision("auto") == "bf16" and emb.resolve_precision("auto", "cuda") == "fp32"
    assert emb.resolve_precision("fp32") == "fp32"
    import pytest

    with pytest.raises(ValueError, match="precision"):
        emb.resolve_precision("int4")


def test_bf16_vectors_are_close_to_fp32_but_computed_in_bf16(embedder):
    texts = [t for t in TEXTS if t]
    fp32 = Embedder(precision="fp32").embed(texts)
    bf16 = Embedder(precision="bf16").embed(texts)
    assert bf16.dtype == np.float32 and np.allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    cosine = (fp32 * bf16).sum(1)
    assert cosine.min() > 0.99 and np.abs(fp32 - bf16).max() > 1e-4  # close, and really bf16


def test_batches_are_cut_by_token_length(embedder):
    texts = ["a b c d e f g h", "short", "a b c", "one two three four five six seven eight nine ten"]
    order = embedder.batch_order(texts)
    lengths = [len(embedder._model.tokenizer(texts[i])["input_ids"]) for i in order]
    assert lengths == sorted(lengths, reverse=True)
