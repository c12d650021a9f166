"""The dataset options of the commands that split a folder as a training would (train, health)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.data.paths import checked_path
from engine.data.split import find_split_file


def add_data_arguments(parser: argparse.ArgumentParser, no_split_help: str) -> None:
    """--data DIR, --split-file CSV and --no-split-file (whose help says what happens then)."""
    parser.add_argument("--data", required=True, metavar="DIR", help="one sub-folder per class")
    parser.add_argument(
        "--split-file",
        metavar="CSV",
        help="path,label,split rows (default: the folder's splits.csv when it has one)",
    )
    parser.add_argument("--no-split-file", action="store_true", help=no_split_help)


def data_and_split_file(args: argparse.Namespace) -> tuple[Path, Path | None, bool]:
    """(the --data folder, the split file to use, whether it is the folder's own splits.csv
    found for the user): --split-file, else splits.csv unless --no-split-file.

    Raises:
        BadPathError: a given path cannot name a file (see checked_path).
    """
    data = checked_path(args.data, "--data")
    if args.split_file:
        return data, checked_path(args.split_file, "--split-file"), False
    if args.no_split_file:
        return data, None, False
    found = find_split_file(data)
    return data, found, found is not None
