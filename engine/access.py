"""Who may change what: in viewer mode (TLAB_MODE=viewer) every change is refused here, in the
engine, whatever a page shows; pages also hide the controls (ui.access)."""

from __future__ import annotations

from engine.errors import ReadOnlyError
from engine.settings import Settings


def can_change(settings: Settings) -> bool:
    """Whether this app may train, delete, upload, export or edit (editor mode)."""
    return settings.mode == "editor"


def require_editor(settings: Settings, action: str) -> None:
    """Refuse action (e.g. 'start a training') in viewer mode.

    Raises:
        ReadOnlyError: the app runs in viewer mode.
    """
    if not can_change(settings):
        raise read_only_error(action)


def read_only_error(action: str) -> ReadOnlyError:
    """The refusal of action in viewer mode, in the words every page and command shows."""
    return ReadOnlyError(
        f"This app is in viewer mode (TLAB_MODE=viewer), so it cannot {action}; "
        "ask whoever runs it for an editor copy."
    )
