"""Near-duplicate detection: word 3-gram shingles, MinHash signatures and the grouping of
texts whose shingle sets overlap (Jaccard) above a threshold."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence

import numpy as np

from nlp.text import normalized_words


def shingles(text: str, size: int = 3) -> set[str]:
    """The word ``size``-grams of ``text`` after normalisation (the whole text if shorter)."""
    words = normalized_words(text)
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


# MinHash: 32 hash functions h(x) = a*x + b (mod 2**64, a odd), banded as 16 bands of 2.
# A pair at the 0.7 threshold shares a band with probability 1 - (1 - 0.7**2)**16 > 0.99998.
_SIGNATURE, _BAND = 32, 2


def _seeds(salt: str) -> np.ndarray:
    return np.asarray(
        [
            int.from_bytes(hashlib.sha1(f"{salt}{i}".encode()).digest()[:8], "big")
            for i in range(_SIGNATURE)
        ],
        dtype=np.uint64,
    )


_MULTIPLIERS = _seeds("multiplier") | np.uint64(1)
_OFFSETS = _seeds("offset")


def signatures(sets: Sequence[set[str]]) -> np.ndarray:
    """MinHash signatures (32 values each) of non-empty shingle sets, for a batch at once.

    Shingles are hashed with CRC-32, not Python's ``hash``, which is salted per process: the
    same posts get the same signatures, and so the same spam labels, on every run."""
    counts = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    hashes = np.fromiter(
        (zlib.crc32(x.encode()) for s in sets for x in s),
        dtype=np.uint64,
        count=int(counts.sum()),
    )
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    permuted = hashes[:, None] * _MULTIPLIERS[None, :] + _OFFSETS[None, :]  # wraps mod 2**64
    return np.minimum.reduceat(permuted, starts, axis=0)


def near_duplicate_groups(texts: Sequence[str], *, threshold: float = 0.7) -> list[int]:
    """Group index of each text: texts whose word 3-gram sets overlap by at least
    ``threshold`` (Jaccard) share a group. MinHash with banding finds the candidates, so a
    batch costs about linear time; every candidate pair is checked on its exact Jaccard."""
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def similar(a: int, b: int) -> bool:
        union = len(sets[a] | sets[b])
        return bool(union) and len(sets[a] & sets[b]) / union >= threshold

    def join(members: list[int]) -> None:
        # Each member of a bucket joins every earlier representative it is similar to, or
        # becomes one: an unrelated text first in a bucket cannot hide a real pair.
        representatives: list[int] = []
        for member in members:
            matches = [r for r in representatives if similar(r, member)]
            for match in matches:
                parent[find(member)] = find(match)
            if not matches:
                representatives.append(member)

    sets = [shingles(t) for t in texts]
    candidates = np.asarray([i for i, words in enumerate(sets) if len(words) >= 3])
    if len(candidates) > 1:  # shorter texts are never taken for copies
        signed = signatures([sets[i] for i in candidates])
        # Exact copies (same signature) join their first occurrence; the bands then only
        # need one text per distinct signature.
        signed, first, inverse = np.unique(signed, axis=0, return_index=True, return_inverse=True)
        for i, j in zip(
            candidates.tolist(), candidates[first[inverse.ravel()]].tolist(), strict=True
        ):
            if i != j and similar(i, j):
                parent[find(i)] = find(j)
        candidates = candidates[first]
        bands = signed.reshape(len(candidates), _SIGNATURE // _BAND, _BAND)
        keys = bands[:, :, 0]  # one 64-bit bucket key per band, mixing the band's values
        for k in range(1, _BAND):
            keys = keys * np.uint64(0x9E3779B97F4A7C15) ^ bands[:, :, k]
        for band in range(keys.shape[1]):
            order = np.argsort(keys[:, band], kind="stable")
            ordered = keys[order, band]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            ends = np.r_[starts[1:], len(ordered)]
            for run in np.flatnonzero(ends - starts > 1):  # texts that share this band
                join(candidates[order[starts[run] : ends[run]]].tolist())
    return [find(i) for i in range(len(texts))]
