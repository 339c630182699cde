"""Embedding on a Ray cluster with Ray Data: the same vectors as :class:`qa.embedding.Embedder`.

Imported only when asked (``qa index --ray ...``, ``Config.ray``): Ray is the optional extra
``pip install qa[cluster]``.
"""

from __future__ import annotations

import numpy as np

from qa.embedding import Embedder


class _EmbedActor:
    """One Ray actor: loads the model once, then embeds the batches it is handed."""

    def __init__(self, model: str, batch_size: int, precision: str, threads: int):
        import torch

        torch.set_num_threads(threads)  # Ray sets OMP_NUM_THREADS=1 in workers; use the CPUs reserved
        self.embedder = Embedder(model, batch_size=batch_size, precision=precision)
        self.embedder.warm_up()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # Each row is one whole local batch (same texts, same padding as Embedder.embed would
        # use), so the vectors match local embedding to float rounding.
        rows, vectors = [], []
        for ids, texts in zip(batch["ids"], batch["texts"]):
            vectors.append(self.embedder.embed([str(t) for t in texts]))
            rows.extend(int(i) for i in ids)
        return {"row": np.asarray(rows, dtype=np.int64), "vector": np.concatenate(vectors)}


def connect(address: str) -> None:
    """Join a Ray cluster (once per process).

    Args:
        address: 'auto' (the running cluster, else a new local one on this machine), 'local'
            (always a new local one) or an address ('ray://head:10001', 'head:6379').

    Raises:
        RuntimeError: Ray is not installed (the message says how to install it).
    """
    try:
        import ray
    except ImportError:
        raise RuntimeError("Embedding on Ray needs Ray: pip install 'qa[cluster]' (or: pip install 'ray[data]')") from None
    if ray.is_initialized():
        return
    if address == "local":
        ray.init(include_dashboard=False, log_to_driver=False)
    elif address == "auto":
        try:
            ray.init(address="auto", log_to_driver=False)
        except ConnectionError:
            ray.init(include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


class RayEmbedder:
    """Drop-in for :class:`qa.embedding.Embedder` (embed, dimension, model_name) that embeds on Ray.

    Texts are ordered by token length and cut into batches on the driver exactly as
    ``Embedder.embed`` does, and each Ray Data row is one such batch: an actor pool (one
    model load per actor) embeds them, so the result equals local embedding.

    Args:
        embedder: The local embedder whose settings (model, batch size, precision) are used;
            it also embeds questions and small jobs locally.
        address: Ray address (see :func:`connect`).
        actor_cpus: CPUs reserved per actor (its torch threads). One: an actor per CPU, each
            single-threaded, embedded 5,000 passages at 0.94x local on 2 cores, against 0.82x for
            one actor of 2 threads (threads of one small model spend time waiting on each other).
        min_texts: Fewer texts than this are embedded locally (Ray start-up would dominate).
    """

    def __init__(self, embedder: Embedder, address: str = "auto", actor_cpus: int = 1, min_texts: int = 0):
        self.local = embedder
        self.address = address
        self.actor_cpus = actor_cpus
        self.min_texts = min_texts

    @property
    def model_name(self) -> str:
        return self.local.model_name

    @property
    def dimension(self) -> int:
        return self.local.dimension

    def warm_up(self) -> None:
        self.local.warm_up()

    def embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed texts on the Ray cluster.

        Args:
            texts: The texts.
            show_progress: Show Ray Data's progress bars.

        Returns:
            float32 (len(texts), dimension), unit rows, in the order of ``texts``.
        """
        if len(texts) < max(1, self.min_texts):
            return self.local.embed(texts, show_progress)
        connect(self.address)
        import ray

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = show_progress
        ctx.verbose_progress = False
        self.local.warm_up()
        order = self.local.batch_order(texts)
        size = self.local.batch_size
        rows = [
            {"ids": order[b : b + size].tolist(), "texts": [texts[i] for i in order[b : b + size]]}
            for b in range(0, len(texts), size)
        ]
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = max(1, cpus // self.actor_cpus)
        threads = min(self.actor_cpus, cpus)
        ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), actors * 4)).map_batches(
            _EmbedActor,
            fn_constructor_kwargs={"model": self.local.model_name, "batch_size": size,
                                   "precision": self.local.precision, "threads": threads},
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
            num_cpus=threads,
            udf_modifying_row_count=True,
        )
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            out[batch["row"]] = np.stack(batch["vector"]) if batch["vector"].dtype == object else batch["vector"]
        return out
