"""Native transformers 5 ports of audio-LMs whose original code cannot run on transformers 5.

Each subpackage holds one model's configuration, modeling, processing, loading (convert from the
original release) and verification against tensors saved from the original code.  Importing a
subpackage registers the model with the Auto classes, so that the harness loads a converted folder
like any Hub model.  Ports depend on transformers and on ``errors``/``files`` only, never on the
harness: the harness (runner, adapters, tiny checkpoints) builds on them.
"""
