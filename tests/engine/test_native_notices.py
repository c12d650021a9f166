"""Native notices on fd 2: dropped when asked, everything else written back."""

import os

import pytest

from engine import native_notices


def test_filtered_drops_only_the_rejected_lines(capfd):
    with native_notices.filtered(lambda line: not line.startswith(b"INFO")):
        os.write(2, b"INFO: noise\nreal warning\n")
    assert capfd.readouterr().err == "real warning\n"


def test_filtered_keeps_everything_when_the_block_fails(capfd):
    with (
        pytest.raises(RuntimeError),
        native_notices.filtered(lambda line: False, keep_all_on_error=True),
    ):
        os.write(2, b"why the import failed\n")
        raise RuntimeError
    assert capfd.readouterr().err == "why the import failed\n"


@pytest.mark.parametrize(("level", "shown"), [("0", True), ("1", False), ("3", False)])
def test_the_litert_notice_follows_the_log_level(capfd, monkeypatch, level, shown):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
    with native_notices.without_litert_notice():
        os.write(2, native_notices.LITERT_DELEGATE_NOTICE + b"\n")
    assert (native_notices.LITERT_DELEGATE_NOTICE.decode() in capfd.readouterr().err) is shown
