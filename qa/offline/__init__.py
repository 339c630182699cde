"""Offline tools: SQuAD loading and scoring, reader training, evaluation and calibration fitting,
splitting weights into parts. Nothing that answers a question imports them (the import contracts
in pyproject.toml say so); `qa eval` and `qa train-reader` load them on demand."""
