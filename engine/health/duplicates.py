"""Exact and near-duplicate photos: content hashes, perceptual hashes compared in bounded
blocks, and the frozen MobileNetV2 features that confirm near copies."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from engine.health.fingerprints import Fingerprint

# Measured on 100 flowers and their copies (JPEG quality 50, halved, 5% cropped off every side)
# against the 500,000 pairs of the 1,000 flowers. The distance of two photos is the least of
# their hashes' differing bits, the centre hashes included. Every copy lies within 8 bits, with
# feature cosines down to 0.73 (halving blurs small photos); only 3 pairs of the flowers do,
# each a real near copy. Within 16 bits a cosine of 0.85 also finds 3 in 4 copies cropped 10%
# a side, and among the flowers only real near copies again.
SAME_PHOTO_BITS = 8  # this close: the same picture re-encoded, resized or slightly cropped
CANDIDATE_BITS = 16  # candidates for the features to confirm
SIMILAR_FEATURES = 0.85  # cosine that confirms a candidate
SIMILAR_FEATURES_SAME_PHOTO = 0.70  # ... or a candidate within SAME_PHOTO_BITS
# Hashes see shapes, not colours. Copies keep the shares of red, green and blue in their mean
# colour (whole or centre) within 0.03 (0.11 cropped 10% a side), a grayscale or faded edit
# within 0.26, while one pattern in red and in green is 0.6 apart: not copies beyond this.
SAME_HUE = 0.3
_BLOCK_ELEMENTS = 1 << 20  # hash comparisons held at once (8 MB of 64-bit XORs)


def copy_groups(prints: Sequence[Fingerprint | None]) -> list[tuple[int, ...]]:
    """Indices of photos that are copies of each other without asking a model: equal content,
    or perceptual hashes within SAME_PHOTO_BITS (blank photos by content only). Groups of two
    or more, each sorted, in order of their first photo. The engine's split keeps each whole."""
    return _components(len(prints), [*_exact_pairs(prints), *_hash_pairs(prints, SAME_PHOTO_BITS)])


def near_copy_groups(
    prints: Sequence[Fingerprint | None], features: np.ndarray
) -> list[tuple[int, ...]]:
    """copy_groups plus the candidates within CANDIDATE_BITS that the features confirm
    (cosine >= SIMILAR_FEATURES, or >= SIMILAR_FEATURES_SAME_PHOTO within SAME_PHOTO_BITS).

    features: one row per photo, in the order of prints.
    """
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    pairs = list(_exact_pairs(prints))
    for first, second, bits in _hash_blocks(prints, CANDIDATE_BITS):
        cosine = np.einsum("ij,ij->i", unit[first], unit[second])
        needed = np.where(bits <= SAME_PHOTO_BITS, SIMILAR_FEATURES_SAME_PHOTO, SIMILAR_FEATURES)
        keep = cosine >= needed
        pairs.extend(zip(first[keep].tolist(), second[keep].tolist(), strict=True))
    return _components(len(prints), pairs)


def _exact_pairs(prints: Sequence[Fingerprint | None]) -> Iterator[tuple[int, int]]:
    """(first photo, other photo) for every photo whose content an earlier one has."""
    first_with: dict[str, int] = {}
    for index, fingerprint in enumerate(prints):
        if fingerprint is None:
            continue
        earlier = first_with.setdefault(fingerprint.sha1, index)
        if earlier != index:
            yield earlier, index


def _hash_pairs(prints: Sequence[Fingerprint | None], max_bits: int) -> Iterator[tuple[int, int]]:
    for first, second, _ in _hash_blocks(prints, max_bits):
        yield from zip(first.tolist(), second.tolist(), strict=True)


def _hash_blocks(
    prints: Sequence[Fingerprint | None], max_bits: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(photo i, photo j, differing bits) arrays of the pairs i < j within max_bits, one block
    of rows at a time: memory stays bounded whatever the number of photos (no all-pairs
    matrix). Blank photos and unreadable ones take no part."""
    usable = np.array(
        [i for i, f in enumerate(prints) if f is not None and not f.uniform], dtype=np.int64
    )
    whole = np.array([prints[i].phash for i in usable], dtype=np.uint64)
    centre = np.array([prints[i].phash_centre for i in usable], dtype=np.uint64)
    hue = _proportions([prints[i].colour for i in usable])
    hue_centre = _proportions([prints[i].colour_centre for i in usable])
    rows = max(1, _BLOCK_ELEMENTS // max(len(whole), 1))
    for start in range(0, len(whole), rows):
        stop = start + rows
        # A slightly cropped copy's whole picture looks like the original's centre.
        bits = np.bitwise_count(whole[start:stop, None] ^ whole[None, start:])
        np.minimum(bits, np.bitwise_count(whole[start:stop, None] ^ centre[None, start:]), bits)
        np.minimum(bits, np.bitwise_count(centre[start:stop, None] ^ whole[None, start:]), bits)
        row, column = np.nonzero(bits <= max_bits)
        later = column > row  # column counts from start too: keep each pair once, never i == i
        row, column = row[later], column[later]
        first, second = start + row, start + column
        apart = np.minimum.reduce(
            [
                np.abs(hue[first] - hue[second]).max(axis=1),
                np.abs(hue[first] - hue_centre[second]).max(axis=1),
                np.abs(hue_centre[first] - hue[second]).max(axis=1),
            ]
        )
        alike = apart <= SAME_HUE
        yield usable[first[alike]], usable[second[alike]], bits[row[alike], column[alike]]


def _proportions(colours: list[tuple[float, float, float]]) -> np.ndarray:
    """Each mean colour as shares of red, green and blue: brightness edits leave them alone."""
    rgb = np.array(colours, dtype=np.float32).reshape(-1, 3)
    return rgb / np.maximum(rgb.sum(axis=1, keepdims=True), 1.0)


def _components(size: int, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Connected groups (two photos or more) of the graph whose edges are pairs."""
    parent = list(range(size))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]  # path halving keeps the trees flat
            node = parent[node]
        return node

    for first, second in pairs:
        parent[root(first)] = root(second)
    members: dict[int, list[int]] = defaultdict(list)
    for node in range(size):
        members[root(node)].append(node)
    groups = [tuple(group) for group in members.values() if len(group) > 1]
    return sorted(groups)
