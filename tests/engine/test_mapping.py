"""Tests for engine.mapping: dataset class names -> ImageNet label indices."""

from __future__ import annotations

import pytest

from engine.imagenet import load_labels
from engine.imagenet_groups import GROUP_ALIASES, GROUPS, NUM_LABELS, SYNONYMS
from engine.mapping import auto_mapping

# Real indices of the 1001-line file, so the synthetic labels exercise the real groups.
LABEL_NAMES = {
    1: "red thing",
    2: "green thing",
    3: "blue thing",
    134: "crane",
    208: "golden retriever",
    282: "tabby, tabby cat",
    283: "tiger cat",
    366: "orangutan, orang",
    405: "airliner",
    517: "crane",
    575: "golf ball",
    638: "mailbox, letter box",
    726: "plane, carpenter's plane, woodworking plane",
    806: "soccer ball",
    896: "warplane, military plane",
    935: "hotdog, hot dog, red hot",
    951: "orange",
    986: "daisy",
    990: "hip, rose hip, rosehip",
}
LABELS = ("background",) + tuple(LABEL_NAMES.get(i, f"thing {i}") for i in range(1, NUM_LABELS))

# --- auto_mapping --------------------------------------------------------------------------


def test_auto_mapping_normalises_names_and_plurals():
    mapping = auto_mapping(("Daisies", "tiger_cats", "Golden-Retriever", "oranges"), LABELS)
    assert mapping == {
        "Daisies": [986],
        "tiger_cats": [283],
        "Golden-Retriever": [208],
        "oranges": [951],  # not 'orang' (orangutan)
    }


def test_auto_mapping_leaves_flowers_imagenet_lacks_unmapped():
    mapping = auto_mapping(("daisy", "dandelion", "roses", "sunflowers", "tulips"), LABELS)
    assert mapping == {"daisy": [986], "dandelion": [], "roses": [], "sunflowers": [], "tulips": []}


def test_auto_mapping_maps_a_superclass_to_its_group():
    mapping = auto_mapping(("dogs", "kittens"), LABELS)
    assert mapping["dogs"] == list(range(152, 270))  # every breed, not 'hot dog'
    assert mapping["kittens"] == [282, 283, 284, 285, 286]


def test_auto_mapping_gives_shared_indices_to_the_more_specific_class():
    mapping = auto_mapping(("dogs", "golden_retriever"), LABELS)
    assert mapping["golden_retriever"] == [208]
    assert 208 not in mapping["dogs"] and len(mapping["dogs"]) == 117


def test_auto_mapping_gives_shared_indices_to_the_first_class_of_a_tier():
    assert auto_mapping(("cat", "kitten"), LABELS) == {"cat": list(range(282, 287)), "kitten": []}


def test_auto_mapping_prefers_curated_synonyms_over_name_matches():
    assert auto_mapping(("plane",), LABELS) == {"plane": [405, 896]}  # not the carpenter's plane


def test_auto_mapping_matches_head_nouns_only_as_a_last_resort():
    mapping = auto_mapping(("balls", "boxes", "crane", "background"), LABELS)
    assert mapping == {"balls": [575, 806], "boxes": [638], "crane": [134, 517], "background": []}


def test_auto_mapping_skips_groups_for_other_label_files():
    assert auto_mapping(("dogs", "zebras"), ("background", "zebra")) == {"dogs": [], "zebras": [1]}


@pytest.mark.integration
def test_real_labels_fit_the_groups_and_synonyms(offline_settings):
    labels = load_labels(offline_settings.imagenet_labels)
    first_names = [label.split(",")[0] for label in labels]
    assert first_names[152] == "Chihuahua" and first_names[269] == "Mexican hairless"
    assert [first_names[i] for i in GROUPS["cat"]] == [
        "tabby",
        "tiger cat",
        "Persian cat",
        "Siamese cat",
        "Egyptian cat",
    ]
    assert [first_names[i] for i in GROUPS["car"]] == [
        "beach wagon",
        "cab",
        "convertible",
        "jeep",
        "limousine",
        "minivan",
        "Model T",
        "racer",
        "sports car",
    ]
    assert [first_names[i] for i in GROUPS["flower"]] == [
        "rapeseed",
        "daisy",
        "yellow lady's slipper",
    ]
    assert [first_names[i] for i in GROUPS["bear"]] == [
        "brown bear",
        "American black bear",
        "ice bear",
        "sloth bear",
    ]
    assert all(1 <= i < NUM_LABELS for group in GROUPS.values() for i in group)
    assert set(GROUP_ALIASES.values()) <= set(GROUPS)
    for word, names in SYNONYMS.items():
        assert all(auto_mapping((name,), labels)[name] for name in names), word


@pytest.mark.integration
def test_real_labels_map_flowers_dogs_and_cats(offline_settings):
    labels = load_labels(offline_settings.imagenet_labels)
    flowers = auto_mapping(("daisy", "dandelion", "roses", "sunflowers", "tulips"), labels)
    assert flowers["daisy"] == [labels.index("daisy")]
    assert flowers["roses"] in ([], [labels.index("hip, rose hip, rosehip")])
    assert flowers["dandelion"] == flowers["sunflowers"] == flowers["tulips"] == []
    animals = auto_mapping(("cats", "dogs"), labels)
    assert len(animals["dogs"]) >= 118
    assert labels.index("tabby, tabby cat") in animals["cats"]
