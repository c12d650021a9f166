"""Tests for engine.mapping: dataset class names -> ImageNet labels, each with its rule and why."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError, ReadOnlyError
from engine.imagenet import load_labels
from engine.imagenet_groups import GROUP_ALIASES, GROUPS, NUM_LABELS, SYNONYMS
from engine.imagenet_wordnet import wordnet
from engine.mapping import (
    COMMON_NAME,
    EDITED,
    GROUP,
    HEAD_NOUN,
    KIND_OF,
    NAME,
    NONE,
    SIBLING,
    auto_mapping,
    checked_mapping,
    edit_mapping,
    explain_edited,
    explain_mapping,
    readings,
    suggestions,
)
from engine.settings import Settings
from tests.support.paths import MODELS, SHARED_MISSING, shared_present

# Real indices of the 1001-line file, so synthetic labels exercise the real groups
# (tests/engine/test_zero_shot.py scores with them).
LABEL_NAMES = {
    1: "red thing",
    2: "green thing",
    3: "blue thing",
    208: "golden retriever",
    282: "tabby, tabby cat",
    405: "airliner",
    896: "warplane, military plane",
    986: "daisy",
    990: "hip, rose hip, rosehip",
}
LABELS = ("background",) + tuple(LABEL_NAMES.get(i, f"thing {i}") for i in range(1, NUM_LABELS))

# A short label file: groups and WordNet (made for the 1001-line file) stay out of the way.
SHORT = (
    "background",
    "daisy",
    "tabby, tabby cat",
    "golden retriever",
    "crane",  # the bird
    "crane",  # the machine
    "golf ball",
    "soccer ball",
    "binoculars, field glasses",
    "cougar, puma",
    "electric fan, fan, blower",
    "spiny lobster, langouste, crayfish",
    "crayfish, crawfish",
    "orange",
    "orangutan, orang",
    "hip, rose hip, rosehip",
    "bassoon",
)


def short(*names: str) -> dict[str, list[str]]:
    """auto_mapping on SHORT, as label first names per class."""
    mapping = auto_mapping(names, SHORT)
    return {name: [SHORT[i].split(",")[0] for i in indices] for name, indices in mapping.items()}


def test_names_are_read_in_any_case_with_any_separator_and_number():
    assert short("Daisies", "tabby_cats", "Golden-Retriever", "oranges") == {
        "Daisies": ["daisy"],
        "tabby_cats": ["tabby"],
        "Golden-Retriever": ["golden retriever"],
        "oranges": ["orange"],  # not 'orang' (orangutan)
    }


def test_a_singular_finds_a_plural_label_and_a_qualifier_is_dropped():
    mapped = explain_mapping(("binocular", "cougar_face", "Faces"), SHORT)
    assert mapped["binocular"].indices == (8,) and "plural" in mapped["binocular"].why
    assert mapped["cougar_face"].indices == (9,) and "without 'face'" in mapped["cougar_face"].why
    assert mapped["Faces"].indices == ()  # a qualifier alone is never looked up


def test_a_compound_falls_back_to_its_last_word_unless_the_first_changes_the_kind():
    assert short("ceiling_fan", "sea fan", "water-lily") == {
        "ceiling_fan": ["electric fan"],
        "sea fan": [],  # a sea fan is a coral
        "water-lily": [],
    }


def test_a_label_whose_first_name_matches_beats_one_that_lists_it_later():
    assert short("crayfish") == {"crayfish": ["crayfish"]}  # not the spiny lobster


def test_a_name_of_two_labels_maps_both_and_says_it_is_ambiguous():
    crane = explain_mapping(("crane",), SHORT)["crane"]
    assert crane.indices == (4, 5) and crane.ambiguous and crane.rule == NAME
    assert "Ambiguous" in crane.why


def test_head_nouns_match_only_as_a_last_resort_and_near_misses_map_nothing():
    mapped = explain_mapping(("balls", "rose", "bass", "background"), SHORT)
    assert mapped["balls"].indices == (6, 7) and mapped["balls"].rule == HEAD_NOUN
    assert mapped["rose"].indices == ()  # 'rose hip' ends with hip: a fruit, not a rose
    assert mapped["bass"].indices == ()  # the fish is not a bassoon
    assert mapped["background"] == explain_mapping(("background",), SHORT)["background"]
    assert mapped["background"].rule == NONE


def test_a_label_claimed_twice_goes_to_the_earlier_class_and_the_other_says_so():
    mapped = explain_mapping(("cougar_body", "cougar_face"), SHORT)
    assert mapped["cougar_body"].indices == (9,)
    assert mapped["cougar_face"].indices == () and "'cougar_body'" in mapped["cougar_face"].why


def test_a_class_named_by_a_group_keeps_what_a_more_specific_class_does_not_claim():
    mapping = auto_mapping(("dogs", "golden_retriever", "plane"), LABELS)
    assert mapping["golden_retriever"] == [208]
    assert 208 not in mapping["dogs"] and len(mapping["dogs"]) == 117
    assert mapping["plane"] == [405, 896]  # the everyday name, not the carpenter's plane


def test_groups_and_wordnet_apply_only_to_the_file_they_were_made_for():
    assert auto_mapping(("dogs", "zebras"), ("background", "zebra")) == {"dogs": [], "zebras": [1]}


def test_readings_go_from_the_literal_to_the_last_word():
    forms = [form for form, _ in readings("Motor_Bikes")]
    assert forms[0] == "motor bikes" and "motorbike" in forms and forms[-1].startswith("bike")


def test_suggestions_offer_labels_close_in_spelling_or_sharing_a_word():
    offered = suggestions(("rose_bush", "gold fan", "zzz"), SHORT)
    assert 15 in offered["rose_bush"]  # shares 'rose' with 'rose hip'
    assert offered["gold fan"][0] == 10  # 'electric fan' shares a word
    assert offered["zzz"] == []
    assert 15 not in suggestions(("rose_bush",), SHORT, taken={15})["rose_bush"]
    assert suggestions(("sea crane",), SHORT)["sea crane"] == []  # no kind of crane


def test_explain_edited_keeps_automatic_reasons_and_marks_hand_edits():
    explained = explain_edited(
        {"daisy": [1], "crane": [4], "orange": []}, ("daisy", "crane", "orange"), SHORT
    )
    assert explained["daisy"].rule == NAME
    assert explained["crane"].rule == EDITED and explained["crane"].indices == (4,)
    assert explained["orange"].rule == EDITED and explained["orange"].indices == ()


def test_checked_mapping_rejects_unknown_classes_and_indices_and_resolves_overlaps():
    with pytest.raises(ConfigError, match="'rose'"):
        checked_mapping({"rose": [1]}, ("daisy",), NUM_LABELS)
    with pytest.raises(ConfigError, match="valid indices"):
        checked_mapping({"daisy": [0]}, ("daisy",), NUM_LABELS)
    assert checked_mapping({"a": [3, 2], "b": [2, 4]}, ("a", "b"), 10) == {"a": [2, 3], "b": [4]}


def test_editing_the_mapping_is_for_editors_only(tmp_path):
    editor = Settings(runs_dir=tmp_path)
    assert edit_mapping(editor, {"daisy": [1]}, ("daisy",), len(SHORT)) == {"daisy": [1]}
    viewer = Settings(runs_dir=tmp_path, mode="viewer")
    with pytest.raises(ReadOnlyError, match="edit the zero-shot mapping"):
        edit_mapping(viewer, {"daisy": [1]}, ("daisy",), len(SHORT))


# --- the real 1001-line label file ---------------------------------------------------------

RULES = (NAME, COMMON_NAME, GROUP, KIND_OF, SIBLING, HEAD_NOUN)


@pytest.fixture(scope="module")
def labels() -> tuple[str, ...]:
    if not shared_present():
        pytest.skip(SHARED_MISSING)
    return load_labels(str(MODELS / "ImageNetLabels.txt"))


def indices(labels: tuple[str, ...], names: tuple[str, ...]) -> set[int]:
    """Label indices by first name ('crane' is two labels)."""
    found = {i for i, label in enumerate(labels) if label.split(",")[0] in names}
    assert len({labels[i].split(",")[0] for i in found}) == len(names), names
    return found


DOGS = tuple(f"dog:{i}" for i in range(152, 270))  # by index: too many names to list
CARS = ("beach wagon", "cab", "convertible", "jeep", "limousine", "minivan", "Model T", "racer")
CARS += ("sports car",)
ANTELOPES = ("hartebeest", "impala", "gazelle")
SEA_TURTLES = ("loggerhead", "leatherback turtle")
CHAIRS = ("barber chair", "folding chair", "rocking chair", "throne")
AIRCRAFT = ("airliner", "warplane")
BEETLES = ("tiger beetle", "ladybug", "ground beetle", "long-horned beetle", "leaf beetle")
BEETLES += ("dung beetle", "rhinoceros beetle", "weevil")
BUTTERFLIES = ("admiral", "ringlet", "monarch", "cabbage butterfly", "sulphur butterfly")
BUTTERFLIES += ("lycaenid",)

# (class name as users write it, the labels a careful person maps it to; () = none). Written
# from the label list; every rule, and near-misses that must map nothing.
PAIRS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # name: a name on the label line, in any case, with any separator
    ("tench", ("tench",)),
    ("Goldfish", ("goldfish",)),
    ("great_white_shark", ("great white shark",)),
    ("hammerhead-shark", ("hammerhead",)),
    ("Golden Retriever", ("golden retriever",)),
    ("german_shepherd", ("German shepherd",)),
    ("ALSATIAN", ("German shepherd",)),
    ("pug", ("pug",)),
    ("zebra", ("zebra",)),
    ("hippo", ("hippopotamus",)),
    ("orca", ("killer whale",)),
    ("killer whale", ("killer whale",)),
    ("sea lion", ("sea lion",)),
    ("tiger", ("tiger",)),  # not tiger shark, tiger cat, tiger beetle
    ("lion", ("lion",)),
    ("koala", ("koala",)),
    ("red panda", ("lesser panda",)),
    ("giant panda", ("giant panda",)),
    ("strawberry", ("strawberry",)),
    ("pineapple", ("pineapple",)),
    ("broccoli", ("broccoli",)),
    ("courgette", ("zucchini",)),
    ("pizza", ("pizza",)),
    ("hot dog", ("hotdog",)),  # not a dog
    ("teddy bear", ("teddy",)),  # not a bear
    ("guinea pig", ("guinea pig",)),
    ("volcano", ("volcano",)),
    ("daisy", ("daisy",)),
    ("acorn", ("acorn",)),
    ("cellphone", ("cellular telephone",)),
    ("mobile phone", ("cellular telephone",)),
    ("cell phone", ("cellular telephone",)),  # read as one word
    ("Model-T", ("Model T",)),
    ("sports car", ("sports car",)),
    ("school bus", ("school bus",)),
    ("fire truck", ("fire engine",)),
    ("canoe", ("canoe",)),
    ("umbrella", ("umbrella",)),
    ("accordion", ("accordion",)),
    ("fiddle", ("violin",)),
    ("saxophone", ("sax",)),
    ("laptop computer", ("laptop",)),
    ("teapot", ("teapot",)),
    ("lamp shade", ("lampshade",)),
    ("T-shirt", ("jersey",)),
    ("sunglasses", ("sunglasses",)),
    ("crayfish", ("crayfish",)),  # its first name; the spiny lobster only lists it
    ("hedgehog", ("porcupine",)),  # the label lists it
    ("crane", ("crane",)),  # ambiguous: the bird and the machine, both mapped and said so
    ("panda", ("lesser panda", "giant panda")),  # ambiguous, both mapped and said so
    ("lionfish", ("lionfish",)),
    ("lion fish", ("lionfish",)),
    # singular and plural
    ("Daisies", ("daisy",)),
    ("Leopards", ("leopard",)),
    ("oranges", ("orange",)),  # not 'orang' (orangutan)
    ("lemons", ("lemon",)),
    ("tabby cats", ("tabby",)),
    ("binocular", ("binoculars",)),
    ("mice", ("mouse",)),
    ("geese", ("goose",)),
    ("strawberries", ("strawberry",)),
    ("jeans", ("jean",)),
    # qualifiers dropped
    ("cougar_face", ("cougar",)),
    ("flamingo_head", ("flamingo",)),
    ("crocodile_head", ("African crocodile",)),
    ("car_side", CARS),
    ("zebra side view", ("zebra",)),
    ("lion_face", ("lion",)),
    ("tiger_body", ("tiger",)),
    ("horse_head", ("sorrel",)),
    # everyday names (imagenet_groups.SYNONYMS)
    ("airplanes", AIRCRAFT),
    ("aeroplane", AIRCRAFT),
    ("plane", AIRCRAFT),  # not the carpenter's plane
    ("rooster", ("cock",)),
    ("cow", ("ox",)),
    ("cows", ("ox",)),
    ("sheep", ("ram", "bighorn")),
    ("horse", ("sorrel",)),  # not the 'river horse' (hippopotamus)
    ("apple", ("Granny Smith",)),
    ("tv", ("television",)),
    ("fridge", ("refrigerator",)),
    # curated groups (imagenet_groups.GROUPS)
    ("dogs", DOGS),
    ("puppies", DOGS),
    ("cats", ("tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat")),
    ("kittens", ("tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat")),
    ("bears", ("brown bear", "American black bear", "ice bear", "sloth bear")),
    ("sharks", ("great white shark", "tiger shark", "hammerhead")),
    ("frogs", ("bullfrog", "tree frog", "tailed frog")),
    ("turtles", ("loggerhead", "leatherback turtle", "mud turtle", "terrapin", "box turtle")),
    ("beetles", BEETLES),
    ("butterflies", BUTTERFLIES),
    ("crabs", ("Dungeness crab", "rock crab", "fiddler crab", "king crab", "hermit crab")),
    ("cars", CARS),
    ("Motorbikes", ("moped", "motor scooter")),
    ("Motor bikes", ("moped", "motor scooter")),
    ("bikes", ("bicycle-built-for-two", "mountain bike")),
    ("flowers", ("rapeseed", "daisy", "yellow lady's slipper")),
    ("elephants", ("tusker", "Indian elephant", "African elephant")),
    ("whales", ("grey whale", "killer whale")),
    ("bunnies", ("wood rabbit", "hare", "Angora")),
    ("chickens", ("cock", "hen")),
    ("wolves", ("timber wolf", "white wolf", "red wolf")),
    ("buses", ("minibus", "school bus", "trolleybus")),
    # groups from WordNet: ImageNet splits the class into several labels
    ("antelope", ANTELOPES),
    ("chairs", CHAIRS),
    ("sea turtles", SEA_TURTLES),
    ("fan", ("electric fan",)),
    ("pianos", ("grand piano", "upright")),
    ("guitars", ("acoustic guitar", "electric guitar")),
    ("clocks", ("analog clock", "digital clock", "wall clock")),
    ("cameras", ("Polaroid camera", "reflex camera")),
    ("telephones", ("cellular telephone", "dial telephone", "pay-phone")),
    ("hats", ("bearskin", "bonnet", "cowboy hat", "sombrero")),
    ("shoes", ("Loafer", "running shoe", "sandal")),
    ("kangaroos", ("wallaby",)),
    ("lobsters", ("American lobster", "spiny lobster")),
    ("crocodiles", ("African crocodile",)),
    ("parrots", ("African grey", "macaw", "sulphur-crested cockatoo", "lorikeet")),
    ("eagles", ("bald eagle",)),
    ("penguins", ("king penguin",)),
    ("ducks", ("drake", "red-breasted merganser")),
    ("herons", ("little blue heron", "American egret", "bittern")),
    ("storks", ("white stork", "black stork")),
    ("lemurs", ("Madagascar cat", "indri")),
    ("vans", ("moving van", "police van")),  # a minivan is a car
    ("pens", ("ballpoint", "fountain pen", "quill")),
    ("coats", ("fur coat", "lab coat", "trench coat")),
    ("keyboards", ("computer keyboard", "typewriter keyboard")),
    ("watch", ("digital watch",)),
    ("knives", ("cleaver", "letter opener")),
    ("lamp", ("table lamp",)),  # WordNet adds candle, spotlight, jack-o'-lantern: a miss
    # kinds of a label (WordNet)
    ("stop_sign", ("street sign",)),
    ("baby grand", ("grand piano",)),
    ("alpaca", ("llama",)),  # WordNet's usual alpaca is the wool: a miss
    ("bonobo", ("chimpanzee",)),
    ("golden hamster", ("hamster",)),
    ("evening gown", ("gown",)),
    ("cathedral", ("church",)),
    ("snow goose", ("goose",)),
    ("subwoofer", ("loudspeaker",)),
    ("fire_ant", ("ant",)),
    ("honey bee", ("bee",)),
    ("bobcat", ("lynx",)),
    ("grizzly", ("brown bear",)),
    ("springbok", ("gazelle",)),
    # siblings (WordNet): a kind of something ImageNet has other kinds of
    ("hawksbill", SEA_TURTLES),
    ("green turtle", SEA_TURTLES),
    ("gerenuk", ANTELOPES),
    ("kudu", ANTELOPES),
    ("windsor_chair", CHAIRS),
    ("armchair", CHAIRS),
    ("ketch", ("schooner", "yawl")),  # WordNet gives schooner and trimaran: a miss
    # the last word of a compound
    ("ceiling_fan", ("electric fan",)),
    ("desk lamp", ("table lamp",)),  # the ambiguous 'lamp' again: a miss
    # head noun: labels whose names end with the class name
    ("glass", ("beer glass",)),
    # near-misses that must map nothing
    ("bass", ()),  # the fish is not a bassoon
    ("rose", ()),  # not 'rose hip'
    ("roses", ()),
    ("tulips", ()),
    ("dandelion", ()),
    ("sunflowers", ()),
    ("sea_horse", ()),  # not a horse
    ("prairie dog", ()),  # not a dog
    ("water_lilly", ()),
    ("emu", ()),  # ImageNet's ostrich is another bird
    ("rhino", ()),
    ("helicopter", ()),
    ("pigeon", ()),
    ("octopus", ()),
    ("dollar_bill", ()),
    ("brain", ()),  # not brain coral
    ("Faces", ()),  # not an animal's muzzle
    ("Faces_easy", ()),
    ("BACKGROUND_Google", ()),
    ("yin_yang", ()),
    ("giraffe", ()),
    ("bat", ()),  # the animal; WordNet's bat-as-racket is a rarer meaning
    ("wheelchair", ()),  # WordNet calls it a chair: a miss
    ("dolphin", ()),
    ("scissors", ()),
    ("wrench", ()),
    ("gramophone", ()),
    ("minaret", ()),
    ("snoopy", ()),
    ("joshua_tree", ()),
    ("inline_skate", ()),
)


def expected(labels: tuple[str, ...], names: tuple[str, ...]) -> set[int]:
    if names and names[0].startswith("dog:"):
        return {int(name.split(":")[1]) for name in names}
    return indices(labels, names)


def score(labels: tuple[str, ...]) -> tuple[float, float, list[str]]:
    """(precision, recall, misses) of the automatic mapping of each name alone over PAIRS.

    A pair is right when the automatic labels equal the expected ones exactly; a mapping where
    none is expected, or other labels, is a false positive; an expected mapping not made
    exactly is a false negative.
    """
    true_pos = false_pos = false_neg = 0
    misses = []
    for name, names in PAIRS:
        want = expected(labels, names)
        got = set(auto_mapping((name,), labels)[name])
        if got == want:
            true_pos += bool(want)
            continue
        misses.append(f"{name}: got {sorted(got)}, expected {sorted(want)}")
        false_pos += bool(got)
        false_neg += bool(want)
    return true_pos / (true_pos + false_pos), true_pos / (true_pos + false_neg), misses


@pytest.mark.integration
def test_the_mapping_agrees_with_a_careful_person_on_the_pairs_table(labels):
    assert len(PAIRS) >= 150 and len({name for name, _ in PAIRS}) == len(PAIRS)
    precision, recall, misses = score(labels)
    print(f"\n{len(PAIRS)} pairs: precision {precision:.3f}, recall {recall:.3f}")
    print("\n".join(misses))
    assert precision >= 0.95 and recall >= 0.95, misses


@pytest.mark.integration
def test_the_pairs_table_covers_every_rule(labels):
    rules = {explain_mapping((name,), labels)[name].rule for name, _ in PAIRS}
    assert set(RULES) | {NONE} <= rules
    crane = explain_mapping(("crane",), labels)["crane"]
    assert crane.ambiguous and "wading bird" in crane.why and "lifting device" in crane.why


@pytest.mark.integration
def test_flowers_map_exactly_daisy(labels):
    names = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
    assert auto_mapping(names, labels) == {
        "daisy": [labels.index("daisy")],
        "dandelion": [],
        "roses": [],
        "sunflowers": [],
        "tulips": [],
    }


@pytest.mark.integration
def test_every_curated_entry_names_real_labels(labels):
    first_names = [label.split(",")[0] for label in labels]
    assert first_names[152] == "Chihuahua" and first_names[269] == "Mexican hairless"
    assert [first_names[i] for i in GROUPS["car"]] == list(CARS)
    assert [first_names[i] for i in GROUPS["chicken"]] == ["cock", "hen"]
    assert all(1 <= i < NUM_LABELS for group in GROUPS.values() for i in group)
    assert set(GROUP_ALIASES.values()) <= set(GROUPS)
    for word, names in SYNONYMS.items():
        assert all(label in first_names for label in names), word


@pytest.mark.integration
def test_the_wordnet_data_matches_the_label_file(labels):
    data = wordnet()
    assert len(data.kind_of) == NUM_LABELS - 1
    assert data.kind_of[labels.index("crane")] == "wading bird"
    assert all(
        1 <= i < NUM_LABELS for senses in data.lemmas.values() for s in senses for i in s.indices
    )
