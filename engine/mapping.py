"""Map dataset class names to ImageNet labels (names, synonyms, plurals, superclass groups)."""

from __future__ import annotations

from engine.errors import ConfigError
from engine.imagenet_groups import GROUP_ALIASES, GROUPS, NUM_LABELS, SYNONYMS

# Plurals the suffix rules in _name_forms get wrong.
_IRREGULAR_PLURALS = {
    "mice": "mouse",
    "geese": "goose",
    "teeth": "tooth",
    "feet": "foot",
    "men": "man",
    "women": "woman",
    "children": "child",
    "people": "person",
    "oxen": "ox",
    "cacti": "cactus",
    "fungi": "fungus",
}


def auto_mapping(class_names: tuple[str, ...], labels: tuple[str, ...]) -> dict[str, list[int]]:
    """Map each dataset class to ImageNet label indices (names, synonyms, plural/singular,
    superclass groups such as every dog breed -> 'dog'); a class with no match maps to [].

    A class name is normalised (lower case, '_' and '-' as spaces) and its last word is also
    tried in singular form (roses -> rose, daisies -> daisy, boxes -> box, knives -> knife).
    Each form is matched, in this order:

    1. specific: a curated synonym (imagenet_groups.SYNONYMS, e.g. 'airplane' -> airliner,
       warplane) when there is one, else every label one of whose comma-separated synonyms
       equals the form ('daisy' -> daisy, 'crane' -> both the bird and the machine);
    2. group: every member of a superclass (imagenet_groups.GROUPS / GROUP_ALIASES, e.g. 'dog'
       -> all 118 breeds); only for the 1001-label file the groups were written for;
    3. head noun, only when 1 and 2 found nothing: labels with a multi-word synonym ending in
       the form ('ball' -> golf ball, soccer ball ...). The head is the last word, so
       'rose' does not match 'rose hip' (a fruit) and flowers ImageNet lacks map to [].

    Background (index 0) is never mapped. An index claimed by two classes goes to the more
    specific match (tier 1 before 3 before 2: 'golden_retriever' keeps its breed from 'dogs');
    within a tier the first class in class_names wins.
    """
    exact, heads = _synonym_index(labels)
    candidates = []
    for name in class_names:
        forms = _name_forms(_normalise(name))
        curated = [SYNONYMS[form] for form in forms if form in SYNONYMS]
        lookups = [_normalise(synonym) for group in curated for synonym in group] or forms
        specific = {index for form in lookups for index in exact.get(form, ())}
        group = set()
        if len(labels) == NUM_LABELS:
            group = {i for form in forms for i in GROUPS.get(GROUP_ALIASES.get(form, form), ())}
        head = set()
        if not specific and not group:
            head = {index for form in forms for index in heads.get(form, ())}
        candidates.append((specific, head, group))
    return _claim(class_names, candidates)


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def _name_forms(name: str) -> tuple[str, ...]:
    """The name plus guesses at its singular (wrong guesses simply match nothing)."""
    prefix, _, last = name.rpartition(" ")
    prefix = f"{prefix} " if prefix else ""
    forms = [last]
    if last in _IRREGULAR_PLURALS:
        forms.append(_IRREGULAR_PLURALS[last])
    elif last.endswith("ies") and len(last) > 4:
        forms.append(last[:-3] + "y")  # daisies
    elif last.endswith("ves"):
        forms += [last[:-3] + "f", last[:-3] + "fe", last[:-1]]  # wolves, knives, gloves
    elif last.endswith(("ses", "xes", "zes", "ches", "shes", "oes")):
        forms += [last[:-1], last[:-2]]  # roses or buses, boxes, peaches, tomatoes
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")):
        forms.append(last[:-1])  # cats, but not glass, bus, iris
    return tuple(prefix + form for form in forms)


def _synonym_index(labels: tuple[str, ...]) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """(whole synonym -> indices, trailing words of multi-word synonyms -> indices)."""
    exact: dict[str, set[int]] = {}
    heads: dict[str, set[int]] = {}
    for index, label in enumerate(labels[1:], start=1):
        for synonym in label.split(","):
            words = _normalise(synonym).split()
            if words:
                exact.setdefault(" ".join(words), set()).add(index)
            for start in range(1, len(words)):
                heads.setdefault(" ".join(words[start:]), set()).add(index)
    return exact, heads


def _claim(
    class_names: tuple[str, ...], candidates: list[tuple[set[int], ...]]
) -> dict[str, list[int]]:
    """Give each index to one class: earlier tiers first, then earlier classes."""
    owner: dict[int, str] = {}
    for tier in range(len(candidates[0]) if candidates else 0):
        for name, tiers in zip(class_names, candidates, strict=True):
            for index in sorted(tiers[tier]):
                owner.setdefault(index, name)
    mapping: dict[str, list[int]] = {name: [] for name in class_names}
    for index, name in sorted(owner.items()):
        mapping[name].append(index)
    return mapping


def checked_mapping(
    mapping: dict[str, list[int]], class_names: tuple[str, ...], num_labels: int
) -> dict[str, list[int]]:
    """A user's mapping, validated, with overlaps resolved like auto_mapping (first class wins)."""
    unknown = sorted(set(mapping) - set(class_names))
    if unknown:
        raise ConfigError(
            f"The class mapping names {', '.join(map(repr, unknown))}, which the dataset does not "
            f"have ({', '.join(class_names)}); remove or rename those entries."
        )
    for name, indices in mapping.items():
        bad = [index for index in indices if not 1 <= index < num_labels]
        if bad:
            raise ConfigError(
                f"The class mapping gives {name!r} ImageNet indices {bad}; valid indices are 1 "
                f"to {num_labels - 1} (0 is 'background')."
            )
    candidates = [({int(index) for index in mapping.get(name, ())},) for name in class_names]
    return _claim(class_names, candidates)
