"""Audio for the model: each clip decoded and resampled once, to the processor's rate, mono."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClipAudio:
    """A decoded clip, ready for a processor.

    Args:
        samples (`np.ndarray`): float32 mono samples at ``sampling_rate`` (possibly cut).
        sampling_rate (`int`): the processor's rate.
        seconds (`float`): the clip's full length before any cut.
        truncated (`bool`): whether ``samples`` were cut to the model's audio limit.
        sha256 (`str`): hash of the clip's file bytes (part of every cache key).
    """

    samples: np.ndarray
    sampling_rate: int
    seconds: float
    truncated: bool
    sha256: str


def decode_clip(data: bytes, sampling_rate: int, *, max_seconds: float | None = None, silence: bool = False) -> ClipAudio:
    """Decode file bytes to mono float32 at ``sampling_rate``; cut to ``max_seconds``; zeros if ``silence``.

    The silence control keeps the clip's exact length and rate and replaces every sample by zero,
    as :func:`tacos_temporal.data.views.to_silence` does for a dataset.
    """
    from torchcodec.decoders import AudioDecoder

    decoded = AudioDecoder(data, sample_rate=sampling_rate, num_channels=1).get_all_samples()
    samples = decoded.data[0].numpy().astype(np.float32, copy=False)
    seconds = samples.shape[0] / sampling_rate
    truncated = max_seconds is not None and seconds > max_seconds + 1e-9
    if truncated:
        samples = samples[: int(round(max_seconds * sampling_rate))]
    if silence:
        samples = np.zeros_like(samples)
    return ClipAudio(samples, sampling_rate, round(seconds, 6), truncated, hashlib.sha256(data).hexdigest())


class ClipCache:
    """The last ``size`` decoded clips (items of one clip are processed next to each other)."""

    def __init__(self, size: int = 32):
        self.size = size
        self._clips: OrderedDict[str, ClipAudio] = OrderedDict()
        self.decoded = 0

    def get(self, key: str, load) -> ClipAudio:
        clip = self._clips.get(key)
        if clip is None:
            clip = load()
            self.decoded += 1
            self._clips[key] = clip
            if len(self._clips) > self.size:
                self._clips.popitem(last=False)
        else:
            self._clips.move_to_end(key)
        return clip
