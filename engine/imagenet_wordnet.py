"""WordNet's view of the ImageNet labels (imagenet_wordnet.json): what a noun stands for among them.

The file is generated from Open English WordNet (CC BY 4.0, derived from Princeton WordNet 3.0)
by tools/make_imagenet_wordnet.py; indices refer to the 1001-line label file.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).with_name("imagenet_wordnet.json")
FORMAT = 1


@dataclass(frozen=True)
class Sense:
    """One meaning of a noun and the ImageNet labels it stands for.

    rule is 'label' (the noun names that label), 'group' (ImageNet splits the noun into these
    labels), 'kind' (the noun is a kind of these labels) or 'sibling' (the noun is a kind of
    `via`, as these labels are).
    """

    rule: str
    via: str  # the WordNet name the labels come through (the group, the parent, the label)
    indices: tuple[int, ...]


@dataclass(frozen=True)
class WordNet:
    """The generated data: noun -> senses, and what each label is a kind of."""

    lemmas: dict[str, tuple[Sense, ...]]
    kind_of: dict[int, str]

    def senses(self, noun: str) -> tuple[Sense, ...]:
        """The senses of a normalised noun (lower case, single spaces) that relate to ImageNet."""
        return self.lemmas.get(noun, ())


@functools.cache
def wordnet() -> WordNet:
    """The data file, read once per process.

    Raises:
        ValueError: the file was written in another format (regenerate it).
    """
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{DATA_FILE} has format {data.get('format')!r}, expected {FORMAT}")
    senses = [Sense(rule, via, tuple(indices)) for rule, via, indices in data["senses"]]
    return WordNet(
        lemmas={lemma: tuple(senses[i] for i in ids) for lemma, ids in data["lemmas"].items()},
        kind_of={int(index): name for index, name in data["kind_of"].items()},
    )
