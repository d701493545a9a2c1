"""Root extraction (placeholder until the root extractor lands: returns the light stem)."""

from __future__ import annotations

from analyzers.stem import light_stem


def root(word: str) -> str:
    """A 3- or 4-letter root for Arabic content words (placeholder)."""
    return light_stem(word)
