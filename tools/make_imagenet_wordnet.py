"""Generate engine/imagenet_wordnet.json: what WordNet nouns stand for among ImageNet's labels.

Not part of the app: run it by hand when the source changes. It needs PyYAML and a checkout of
Open English WordNet (https://github.com/globalwordnet/english-wordnet, CC BY 4.0, derived
from Princeton WordNet 3.0 under the WordNet License):

    python tools/make_imagenet_wordnet.py ENGLISH_WORDNET/src/yaml ImageNetLabels.txt \\
        LOC_synset_mapping.txt CILI/ili-map-pwn30.tab

LOC_synset_mapping.txt lists ImageNet's 1000 WordNet 3.0 synset ids (n01440764 ...) in label
order; the Collaborative Interlingual Index (https://github.com/globalwordnet/cili, CC BY 4.0)
maps them to the synsets of Open English WordNet. The script then writes, for every noun lemma
whose meaning is related to the labels:

- "group": the lemma names a kind that ImageNet splits into labels (antelope -> hartebeest,
  impala, gazelle); at most MAX_GROUP labels, so 'object' or 'organism' map to nothing;
- "kind": the lemma is a kind of an ImageNet label (baby grand -> grand piano);
- "sibling": the lemma is a kind of a SIBLING_PARENTS entry, which ImageNet covers only by
  some of its kinds (hawksbill, a sea turtle -> loggerhead, leatherback turtle).
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

MAX_GROUP = 150
# Parents whose ImageNet kinds look alike enough to stand for any other kind of them. Chosen
# by hand from the label list; a parent with unlike kinds (odd-toed ungulate: horse, zebra,
# rhinoceros) must not be here.
SIBLING_PARENTS = {
    "sea turtle": 34,  # loggerhead
    "antelope": 353,  # impala
    "chair": 766,  # rocking chair
    "fan": 546,  # electric fan
    "car": 818,  # sports car
    "sailing vessel": 781,  # schooner
    "wildcat": 288,  # lynx
}
OUTPUT = Path(__file__).resolve().parent.parent / "engine" / "imagenet_wordnet.json"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[_\-]", " ", text.lower()).split())


def _key(text: str) -> str:
    """A name compared without a final 's' (Open English WordNet has 'jeans' for 'jean')."""
    name = _norm(text)
    return name[:-1] if name.endswith("s") else name


def load_synsets(folder: Path) -> dict[str, dict]:
    """Noun synsets: id -> {members, hypernyms, lexfile, ili}."""
    synsets = {}
    for path in sorted(folder.glob("noun.*.yaml")):
        data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        for synset_id, entry in data.items():
            synsets[synset_id] = {
                "members": [str(m) for m in entry.get("members", [])],
                "hypernyms": list(entry.get("hypernym", []))
                + list(entry.get("instance_hypernym", [])),
                "lexfile": path.stem,
                "ili": entry.get("ili"),
            }
    return synsets


def first_senses(folder: Path) -> dict[str, str]:
    """Normalised noun -> the synset of its most frequent sense (entries list senses in order)."""
    first: dict[str, str] = {}
    for path in sorted(folder.glob("entries-*.yaml")):
        data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        for lemma, entry in data.items():
            senses = (entry.get("n") or {}).get("sense") or []
            # 'bat' (the animal) before 'Bat'; lower case spelling wins for the common noun.
            if senses and (lemma == lemma.lower() or _norm(lemma) not in first):
                first[_norm(lemma)] = senses[0]["synset"]
    return first


def match_labels(wnids: list[str], ili_map: Path, synsets: dict[str, dict]) -> dict[int, str]:
    """ImageNet index -> Open English WordNet synset id, through the Interlingual Index.

    ImageNet names each class by its WordNet 3.0 offset (n01440764, sorted: line i of the
    labels file is the i-th); CILI maps those offsets to ILI ids, which OEWN synsets carry.
    """
    ili_of = {}
    for line in ili_map.read_text().splitlines():
        ili, offset = line.split("\t")
        ili_of[offset] = ili
    by_ili = {synset["ili"]: synset_id for synset_id, synset in synsets.items() if synset["ili"]}
    found = {}
    for index, wnid in enumerate(wnids, start=1):
        ili = ili_of.get(f"{wnid[1:]}-n")
        if ili in by_ili:
            found[index] = by_ili[ili]
    return found


def ancestors(synsets: dict[str, dict]) -> dict[str, set[str]]:
    """Every synset's hypernyms at any distance (itself excluded)."""
    memo: dict[str, set[str]] = {}

    def walk(synset_id: str) -> set[str]:
        if synset_id not in memo:
            memo[synset_id] = set()  # cycles in edited data end here
            result = set()
            for parent in synsets.get(synset_id, {}).get("hypernyms", []):
                result.add(parent)
                result |= walk(parent)
            memo[synset_id] = result
        return memo[synset_id]

    sys.setrecursionlimit(10_000)
    for synset_id in synsets:
        walk(synset_id)
    return memo


def main(folder: str, labels_path: str, wnids_path: str, ili_map: str) -> None:
    labels = Path(labels_path).read_text().splitlines()
    wnids = [line.split()[0] for line in Path(wnids_path).read_text().splitlines() if line]
    if len(wnids) != len(labels) - 1 or wnids != sorted(wnids):
        raise SystemExit("expected the 1000 ImageNet synset ids, sorted (n01440764 first)")
    synsets = load_synsets(Path(folder))
    matched = match_labels(wnids, Path(ili_map), synsets)
    for index, synset_id in matched.items():  # a cheap check that line and synset agree
        names = {_key(name) for name in labels[index].split(",")}
        if not names & {_key(member) for member in synsets[synset_id]["members"]}:
            print(f"warning: {labels[index]!r} -> {synsets[synset_id]['members']}")
    missing = [labels[i] for i in range(1, len(labels)) if i not in matched]
    if missing:
        raise SystemExit(f"no synset for: {missing}")
    index_of = {synset_id: index for index, synset_id in matched.items()}
    above = ancestors(synsets)
    below: dict[str, set[int]] = defaultdict(set)  # synset -> ImageNet labels at or under it
    for synset_id, index in index_of.items():
        below[synset_id].add(index)
        for parent in above[synset_id]:
            below[parent].add(index)
    sibling_parents = {
        synset_id
        for synset_id, synset in synsets.items()
        for member in synset["members"]
        if SIBLING_PARENTS.get(_norm(member)) in below.get(synset_id, ())
    }
    senses: list[list] = []  # [rule, via, indices], each once
    sense_ids: dict[str, int] = {}
    lemmas: dict[str, list[int]] = defaultdict(list)
    related = {}
    for synset_id, synset in synsets.items():
        sense = _sense(synset_id, synset, synsets, above, below, index_of, sibling_parents)
        if sense is not None:
            related[synset_id] = sense
    first = first_senses(Path(folder))
    for synset_id, sense in related.items():
        key = json.dumps(sense)
        for member in synsets[synset_id]["members"]:
            lemma = _norm(member)
            # A noun whose usual meaning ImageNet lacks ('bat', the animal) maps nothing, even
            # when a rarer meaning (a bat as a racket) is among the labels.
            if first.get(lemma, synset_id) not in related:
                continue
            if key not in sense_ids:
                sense_ids[key] = len(senses)
                senses.append(sense)
            if sense_ids[key] not in lemmas[lemma]:
                lemmas[lemma].append(sense_ids[key])
    # What each label is a kind of, to tell apart labels of one name ('crane': a wading bird,
    # a lifting device).
    kind_of = {
        str(index): synsets[synsets[synset_id]["hypernyms"][0]]["members"][0]
        for index, synset_id in sorted(matched.items())
        if synsets[synset_id]["hypernyms"]
    }
    document = {
        "source": "Open English WordNet (github.com/globalwordnet/english-wordnet), CC BY 4.0, "
        "derived from Princeton WordNet 3.0 (WordNet License); generated by "
        "tools/make_imagenet_wordnet.py",
        "format": 1,
        "max_group": MAX_GROUP,
        "sibling_parents": sorted(SIBLING_PARENTS),
        "kind_of": kind_of,
        "senses": senses,
        "lemmas": {lemma: lemmas[lemma] for lemma in sorted(lemmas)},
    }
    OUTPUT.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"{len(lemmas)} lemmas, {len(senses)} senses -> {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


def _sense(synset_id, synset, synsets, above, below, index_of, sibling_parents):
    """[rule, via (a WordNet name), indices] for one synset, or None when unrelated."""
    name = synset["members"][0]
    if synset_id in index_of:
        return ["label", name, [index_of[synset_id]]]
    under = sorted(below.get(synset_id, ()))
    if under:
        return ["group", name, under] if len(under) <= MAX_GROUP else None
    kinds_of = [parent for parent in above[synset_id] if parent in index_of]
    # The nearest ImageNet labels above: none of them above another one.
    nearest = [p for p in kinds_of if not any(p in above[q] for q in kinds_of if q != p)]
    if nearest:
        via = synsets[nearest[0]]["members"][0]
        return ["kind", via, sorted(index_of[p] for p in nearest)]
    parents = [p for p in above[synset_id] if p in sibling_parents]
    nearest = [p for p in parents if not any(p in above[q] for q in parents if q != p)]
    if nearest:
        parent = nearest[0]
        return ["sibling", synsets[parent]["members"][0], sorted(below[parent])]
    return None


if __name__ == "__main__":
    main(*sys.argv[1:5])
