"""Command line: python -m engine train | predict | evaluate | runs (add --json for machines)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Parse argv, run the command, return the exit code (1 plus one line on stderr for user errors)."""
    raise NotImplementedError
