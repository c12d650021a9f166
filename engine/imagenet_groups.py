"""ImageNet data for class mapping: superclass groups (indices), aliases and curated synonyms.

Indices refer to the 1001-line label file used by the Hub classifier (line 0 = 'background');
the Keras 1000-class top would be one lower. tests/engine/test_zero_shot.py checks every entry
against the real ImageNetLabels.txt.
"""

from __future__ import annotations

NUM_LABELS = 1001  # the Hub classifier's output width; groups only apply to this layout


def _span(first: int, last: int) -> tuple[int, ...]:
    """Indices first..last inclusive (the label file keeps related classes together)."""
    return tuple(range(first, last + 1))


# Superclass name (singular, normalised) -> every ImageNet index that is one of it.
# Only true members: 'hot dog' is not a dog, 'teddy bear' is not a bear, a freight car is not a car.
GROUPS: dict[str, tuple[int, ...]] = {
    "dog": _span(152, 269),  # Chihuahua .. Mexican hairless: all 118 breeds
    "cat": _span(282, 286),  # tabby .. Egyptian cat: domestic cats only
    "big cat": _span(287, 294),  # cougar .. cheetah
    "wolf": _span(270, 272),  # timber, white, red wolf
    "fox": _span(278, 281),  # red, kit, Arctic, grey fox
    "bear": _span(295, 298),  # brown, American black, ice, sloth bear
    "monkey": _span(371, 383),  # guenon .. squirrel monkey
    "ape": _span(366, 370),  # orangutan .. siamang
    "primate": _span(366, 385),  # apes, monkeys, lemurs
    "elephant": (102, 386, 387),  # tusker, Indian, African elephant
    "whale": (148, 149),  # grey whale, killer whale
    "rabbit": _span(331, 333),  # wood rabbit, hare, Angora
    # cock .. great grey owl, black grouse .. black swan, white stork .. albatross
    "bird": _span(8, 25) + _span(81, 101) + _span(128, 147),
    "fish": _span(1, 7) + _span(390, 398),  # tench..stingray, barracouta..puffer
    "shark": _span(3, 5),  # great white, tiger, hammerhead
    "frog": _span(31, 33),  # bullfrog, tree frog, tailed frog
    "turtle": _span(34, 38),  # loggerhead .. box turtle
    "lizard": _span(39, 49),  # banded gecko .. Komodo dragon
    "snake": _span(53, 69),  # thunder snake .. sidewinder
    "reptile": _span(34, 69),  # turtles, lizards, crocodiles, triceratops, snakes
    "spider": _span(73, 78),  # black and gold garden spider .. wolf spider
    "insect": _span(301, 327),  # beetles .. butterflies
    "beetle": _span(301, 308),  # tiger beetle .. weevil
    "butterfly": _span(322, 327),  # admiral .. lycaenid
    "crab": _span(119, 122) + (126,),  # Dungeness .. king crab, hermit crab
    "car": (437, 469, 512, 610, 628, 657, 662, 752, 818),  # station wagon, cab, ..., sports car
    "truck": (556, 570, 718, 865, 868),  # fire, garbage, pickup, tow, trailer truck
    "bus": (655, 780, 875),  # minibus, school bus, trolleybus
    # aircraft carrier, canoe, catamaran, container ship, fireboat, gondola, lifeboat, liner,
    # pirate ship, schooner, speedboat, submarine, trimaran, yawl
    "boat": (404, 473, 485, 511, 555, 577, 626, 629, 725, 781, 815, 834, 872, 915),
    "aircraft": (405, 406, 896),  # airliner, airship, warplane
    "train": (467, 548, 566, 706, 821, 830),  # bullet train, locomotives, wagons, streetcar
    "bicycle": (445, 672),  # tandem, mountain bike
    "motorcycle": (666, 671),  # moped, motor scooter
    "flower": (985, 986, 987),  # rapeseed, daisy, yellow lady's slipper
    "fruit": _span(949, 958),  # Granny Smith .. pomegranate
    "vegetable": _span(937, 947),  # head cabbage .. cardoon
    "mushroom": (948,) + _span(992, 998),  # mushroom, coral fungus .. bolete
    "chicken": (8, 9),  # cock, hen (WordNet files them under 'bird', not 'chicken')
}

# Other names people give a group's classes (normalised, singular).
GROUP_ALIASES: dict[str, str] = {
    "puppy": "dog",
    "kitten": "cat",
    "kitty": "cat",
    "house cat": "cat",
    "domestic cat": "cat",
    "bunny": "rabbit",
    "ship": "boat",
    "automobile": "car",
    "lorry": "truck",
    "bike": "bicycle",
    "motorbike": "motorcycle",
    "fungus": "mushroom",
    "toadstool": "mushroom",
}

# Curated true synonyms (normalised, singular) -> first names of ImageNet labels. An entry
# replaces the automatic name match, e.g. 'plane' means an aircraft, not a carpenter's plane.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "airplane": ("airliner", "warplane"),
    "aeroplane": ("airliner", "warplane"),
    "plane": ("airliner", "warplane"),
    "apple": ("Granny Smith",),
    "cow": ("ox",),
    "sheep": ("ram", "bighorn"),
    "horse": ("sorrel",),  # the automatic rule would pick 'river horse', a hippopotamus
    "laptop": ("laptop", "notebook"),
    "rooster": ("cock",),  # WordNet's rooster is a chicken, ImageNet's cock an adult male bird
    "tv": ("television",),
    "fridge": ("refrigerator",),
}
