"""Map dataset class names to ImageNet labels, each with the rule that chose them and why."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from engine.access import require_editor
from engine.errors import ConfigError
from engine.imagenet_groups import GROUP_ALIASES, GROUPS, NUM_LABELS, SYNONYMS
from engine.imagenet_wordnet import Sense, wordnet
from engine.settings import Settings

# Plurals the suffix rules in _numbers get wrong.
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
# Words that say which part or view of a thing the photos show ('cougar_face', 'car_side'):
# dropped from the end of a name when the rest matches, never looked up on their own.
QUALIFIERS = frozenset(
    "face faces head heads body bodies side sides front back rear profile closeup view views "
    "easy hard top full left right".split()
)
# First words that make a compound another kind of thing than its last word (a sea horse is
# no horse, a prairie dog no dog, a wild cat no house cat): such names never fall back to it.
KIND_CHANGING = frozenset(
    "sea water river prairie guinea teddy toy hot wild stuffed plush paper cartoon".split()
)

# Rules, in the words the Zero-shot page and `train --json` use.
NAME = "name"  # the class name is one of the names on the label's line
COMMON_NAME = "common name"  # imagenet_groups.SYNONYMS: the everyday word for the label
GROUP = "group"  # the class is a kind of thing ImageNet splits into several labels
KIND_OF = "kind of"  # WordNet: the class is a kind of the label
SIBLING = "sibling"  # WordNet: the class and the labels are kinds of one thing
HEAD_NOUN = "head noun"  # the labels' names end with the class name ('ball' -> golf ball)
EDITED = "edited"  # chosen by hand on the Zero-shot page
NONE = "none"  # ImageNet has no label for the class

# Which claim wins when two classes match one label: the more specific rule first.
_TIERS = {NAME: 0, COMMON_NAME: 0, KIND_OF: 0, HEAD_NOUN: 1, GROUP: 2, SIBLING: 3}


@dataclass(frozen=True)
class MappedClass:
    """The ImageNet labels one class maps to, the rule that chose them and a sentence why."""

    indices: tuple[int, ...]
    rule: str
    why: str
    ambiguous: bool = False  # the name has several meanings in ImageNet; all are mapped


@dataclass(frozen=True)
class _Match:
    indices: frozenset[int]
    rule: str
    why: str
    ambiguous: bool = False


def auto_mapping(class_names: tuple[str, ...], labels: tuple[str, ...]) -> dict[str, list[int]]:
    """Each class's ImageNet label indices as explain_mapping chooses them ([] when none)."""
    explained = explain_mapping(class_names, labels)
    return {name: list(mapped.indices) for name, mapped in explained.items()}


def explain_mapping(
    class_names: tuple[str, ...], labels: tuple[str, ...]
) -> dict[str, MappedClass]:
    """Map each class to ImageNet labels and say why.

    A name is read as written (case, '_', '-' and spaces do not matter), as one word, in the
    singular and plural, without a trailing qualifier ('cougar_face' -> cougar) and, unless its
    first word changes the kind ('sea horse'), by its last word ('ceiling_fan' -> fan). The
    first reading that matches decides, looked up in this order: an everyday name
    (imagenet_groups.SYNONYMS), a name on a label's line, a curated group
    (imagenet_groups.GROUPS), then WordNet (a group, a kind of a label, a sibling). Failing
    all, labels whose names end with a reading ('ball' -> golf ball) match. Groups and
    WordNet apply only to the 1001-label file they were made for. A label matched by two
    classes goes to the more specific rule, then to the earlier class.
    """
    index = _LabelIndex(labels)
    matches = [_match(name, index) for name in class_names]
    owner: dict[int, str] = {}
    for tier in sorted(set(_TIERS.values())):
        for name, match in zip(class_names, matches, strict=True):
            if match is not None and _TIERS[match.rule] == tier:
                for label in sorted(match.indices):
                    owner.setdefault(label, name)
    return {
        name: _claimed(name, match, owner, labels)
        for name, match in zip(class_names, matches, strict=True)
    }


def _claimed(
    name: str, match: _Match | None, owner: dict[int, str], labels: tuple[str, ...]
) -> MappedClass:
    if match is None:
        return MappedClass((), NONE, "No ImageNet label matches this name.")
    kept = tuple(sorted(i for i in match.indices if owner[i] == name))
    others = sorted({owner[i] for i in match.indices if owner[i] != name})
    if not others:
        return MappedClass(kept, match.rule, match.why, match.ambiguous)
    given = f"{', '.join(map(repr, others))} took the more specific claim"
    if not kept:
        return MappedClass((), NONE, f"{match.why} Every one of them counts for {given}.")
    lost = len(match.indices) - len(kept)
    return MappedClass(
        kept, match.rule, f"{match.why} {lost} of them count for {given}.", match.ambiguous
    )


def normalise(text: str) -> str:
    """Lower case, '_' and '-' as spaces, single spaces."""
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def readings(name: str) -> list[tuple[str, str]]:
    """(reading, how it was read) of a class name, most literal first; duplicates dropped."""
    words = normalise(name).split()
    found: list[tuple[str, str]] = []

    def add(text: str, how: str) -> None:
        for form, number in _numbers(text):
            if form and form not in (seen for seen, _ in found):
                found.append((form, f"{how} {number}".strip() if number else how))

    text = " ".join(words)
    add(text, "")
    if len(words) > 1:
        add("".join(words), "written as one word")
    core = list(words)
    while len(core) > 1 and core[-1] in QUALIFIERS:
        core.pop()
    if len(core) < len(words):
        add(" ".join(core), f"without {' '.join(words[len(core) :])!r}")
    if len(core) > 1 and not KIND_CHANGING & set(core[:-1]):
        add(core[-1], f"by its last word {core[-1]!r}")
    return [(form, how) for form, how in found if form not in QUALIFIERS]


def _numbers(text: str) -> list[tuple[str, str]]:
    """The text, then guesses at its last word's singular and plural (wrong ones match nothing)."""
    prefix, _, last = text.rpartition(" ")
    prefix = f"{prefix} " if prefix else ""
    singular = []
    if last in _IRREGULAR_PLURALS:
        singular.append(_IRREGULAR_PLURALS[last])
    elif last.endswith("ies") and len(last) > 4:
        singular.append(last[:-3] + "y")  # daisies
    elif last.endswith("ves"):
        singular += [last[:-3] + "f", last[:-3] + "fe", last[:-1]]  # wolves, knives, gloves
    elif last.endswith(("ses", "xes", "zes", "ches", "shes", "oes")):
        singular += [last[:-1], last[:-2]]  # roses or buses, boxes, peaches, tomatoes
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")):
        singular.append(last[:-1])  # cats, but not glass, bus, iris
    plural = [] if singular or last.endswith("s") else [last + "s"]  # binocular -> binoculars
    return (
        [(text, "")]
        + [(prefix + form, "in the singular") for form in singular]
        + [(prefix + form, "in the plural") for form in plural]
    )


class _LabelIndex:
    """The label file's names, looked up by a normalised reading."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.exact: dict[str, set[int]] = {}
        self.heads: dict[str, set[int]] = {}
        for index, label in enumerate(labels[1:], start=1):
            for synonym in label.split(","):
                words = normalise(synonym).split()
                if words:
                    self.exact.setdefault(" ".join(words), set()).add(index)
                for start in range(1, len(words)):
                    self.heads.setdefault(" ".join(words[start:]), set()).add(index)
        self.full = len(labels) == NUM_LABELS  # groups and WordNet were made for this file

    def name(self, index: int) -> str:
        return self.labels[index].split(",")[0].strip()

    def names(self, indices: Iterable[int], limit: int = 6) -> str:
        shown = sorted(indices)
        text = ", ".join(self.name(i) for i in shown[:limit])
        return text + (f" and {len(shown) - limit} more" if len(shown) > limit else "")


def _match(name: str, index: _LabelIndex) -> _Match | None:
    forms = readings(name)
    for form, how in forms:
        found = _lookup(form, index)
        if found is not None:
            said = f"Read {how}: " if how else ""
            return _Match(found.indices, found.rule, said + found.why, found.ambiguous)
    heads = {i for form, how in forms if "last word" not in how for i in index.heads.get(form, ())}
    if heads:
        return _Match(
            frozenset(heads),
            HEAD_NOUN,
            f"No label is called {normalise(name)!r}; these labels' names end with it: "
            f"{index.names(heads)}.",
        )
    return None


def _lookup(form: str, index: _LabelIndex) -> _Match | None:
    """The labels one reading names: everyday name, label name, curated group, WordNet."""
    if form in SYNONYMS:
        found = {i for label in SYNONYMS[form] for i in index.exact.get(normalise(label), ())}
        if found:
            return _Match(
                frozenset(found),
                COMMON_NAME,
                f"{form!r} is the everyday name of {index.names(found)}.",
            )
    exact = index.exact.get(form, set())
    # 'crayfish' is the crayfish label's first name and the spiny lobster's fifth: the first
    # name is what the label means.
    first = {i for i in exact if normalise(index.name(i)) == form}
    if exact:
        return _named(form, first or exact, index)
    if not index.full:
        return None
    group = GROUPS.get(GROUP_ALIASES.get(form, form))
    if group:
        return _Match(
            frozenset(group),
            GROUP,
            f"ImageNet splits {form!r} into {len(group)} labels: {index.names(group)}.",
        )
    return _from_wordnet(form, index)


def _named(form: str, exact: set[int], index: _LabelIndex) -> _Match:
    if len(exact) == 1:
        (only,) = exact
        return _Match(
            frozenset(exact), NAME, f"{form!r} is a name of the label {index.name(only)}."
        )
    kinds = wordnet().kind_of if index.full else {}
    described = ", ".join(
        f"{index.name(i)} (a kind of {kinds[i]})" if i in kinds else index.name(i)
        for i in sorted(exact)
    )
    return _Match(
        frozenset(exact),
        NAME,
        f"Ambiguous: {form!r} names {len(exact)} labels, {described}; all are mapped, remove "
        "the ones your photos are not.",
        ambiguous=True,
    )


def _from_wordnet(form: str, index: _LabelIndex) -> _Match | None:
    """The strongest WordNet senses of a reading: label or group, else kind of, else sibling."""
    senses = wordnet().senses(form)
    for rules in (("label", "group"), ("kind",), ("sibling",)):
        chosen = [sense for sense in senses if sense.rule in rules]
        if chosen:
            return _wordnet_match(form, chosen, index)
    return None


def _wordnet_match(form: str, senses: list[Sense], index: _LabelIndex) -> _Match:
    found = frozenset(i for sense in senses for i in sense.indices)
    ambiguous = len({sense.indices for sense in senses}) > 1
    first = senses[0]
    if ambiguous:
        meanings = "; ".join(f"{sense.via}: {index.names(sense.indices, 3)}" for sense in senses)
        rule = GROUP if any(sense.rule == "group" for sense in senses) else _RULE[first.rule]
        why = (
            f"Ambiguous: in WordNet {form!r} means several things ImageNet has ({meanings}); "
            "all are mapped, remove the ones your photos are not."
        )
        return _Match(found, rule, why, ambiguous=True)
    names = index.names(found)
    why = {
        "label": f"WordNet lists {form!r} as another name of {names}.",
        "group": f"In WordNet {len(found)} ImageNet labels are kinds of {form!r}: {names}.",
        "kind": f"In WordNet {form!r} is a kind of {names}.",
        "sibling": f"ImageNet has no {form!r}; WordNet calls it a kind of {first.via}, as it "
        f"calls {names}.",
    }[first.rule]
    return _Match(found, _RULE[first.rule], why)


_MIN_SUGGESTED = 4  # shorter words and names match too much by chance ('tulips' ~ 'tup')
_RULE = {"label": NAME, "group": GROUP, "kind": KIND_OF, "sibling": SIBLING}


def suggestions(
    names: Iterable[str], labels: tuple[str, ...], taken: Iterable[int] = (), limit: int = 3
) -> dict[str, list[int]]:
    """For classes no rule maps: the labels whose names are closest to each (spelling, then
    shared words), best first, leaving out labels in `taken` (other classes have them)."""
    index = _LabelIndex(labels)
    known = list(index.exact)
    used = set(taken)
    offered = {}
    for name in names:
        forms = [form for form, _ in readings(name)]
        ranked = [
            i
            for form in forms
            if len(form) >= _MIN_SUGGESTED
            for close in difflib.get_close_matches(form, known, n=limit, cutoff=0.85)
            for i in sorted(index.exact[close])
        ]
        words = {
            word for form in forms for word in form.split() if len(word) >= _MIN_SUGGESTED
        } - QUALIFIERS
        if KIND_CHANGING & set(normalise(name).split()[:-1]):
            words = set()  # a sea horse shares a word with 'river horse', not a kind
        ranked += [i for text in known if words & set(text.split()) for i in index.exact[text]]
        offered[name] = [i for i in dict.fromkeys(ranked) if i > 0 and i not in used][:limit]
    return offered


def explain_edited(
    mapping: dict[str, list[int]], class_names: tuple[str, ...], labels: tuple[str, ...]
) -> dict[str, MappedClass]:
    """Reasons for a mapping a user may have edited: the automatic reason where a class kept
    the automatic labels, 'edited' where it did not."""
    automatic = explain_mapping(class_names, labels)
    explained = {}
    for name in class_names:
        chosen = tuple(sorted(mapping.get(name, ())))
        if chosen == automatic[name].indices:
            explained[name] = automatic[name]
        elif chosen:
            explained[name] = MappedClass(chosen, EDITED, "Chosen by hand on the Zero-shot page.")
        else:
            explained[name] = MappedClass((), EDITED, "Every label was removed by hand.")
    return explained


def checked_mapping(
    mapping: dict[str, list[int]], class_names: tuple[str, ...], num_labels: int
) -> dict[str, list[int]]:
    """A user's mapping, validated, with overlaps resolved (the first class wins).

    Raises:
        ConfigError: a class the dataset lacks, or an index outside 1..num_labels-1.
    """
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
    owner: dict[int, str] = {}
    for name in class_names:
        for index in sorted({int(index) for index in mapping.get(name, ())}):
            owner.setdefault(index, name)
    checked: dict[str, list[int]] = {name: [] for name in class_names}
    for index, name in sorted(owner.items()):
        checked[name].append(index)
    return checked


def edit_mapping(
    settings: Settings,
    mapping: dict[str, list[int]],
    class_names: tuple[str, ...],
    num_labels: int,
) -> dict[str, list[int]]:
    """Accept a hand-edited mapping for the next trainings (editors only), checked.

    Raises:
        ReadOnlyError: the app runs in viewer mode. ConfigError: as checked_mapping.
    """
    require_editor(settings, "edit the zero-shot mapping")
    return checked_mapping(mapping, class_names, num_labels)
