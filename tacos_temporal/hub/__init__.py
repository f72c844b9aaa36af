"""Layer 4: the only code that writes to the Hugging Face Hub.

- ``dataset.py``: publish a built dataset folder (three views, card, items, build report) and the
  benchmark's ``eval.yaml``.
- ``metric.py``: publish the ``evaluate`` metric folder as a Gradio Space.
- ``leaderboard.py``: a run's scores as ``.eval_results/*.yaml`` (pull request by default), the legacy
  ``model-index``, and the leaderboard read back.
- ``details.py``: per-item samples in a details dataset (lm-evaluation-harness layout).
- ``standing.py``: whether a run is the whole published benchmark (else push-results marks it partial).
- ``run.py``: a finished run folder, read only.
- ``connection.py``: the API client, tokens, the commit helper, and Hub failures as ``HubError``.

Heavy libraries (huggingface_hub, pyarrow, yaml) are imported inside the functions.
"""
