"""Layer 3: run Hub audio-language models on a view (torch/transformers are imported here only)."""
