"""Turn engine errors into st.error messages so no traceback ever reaches the user."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from engine.errors import TransferLabError
from ui.text import md

logger = logging.getLogger("transfer_lab.ui")


@contextmanager
def guard(stop: bool = True) -> Iterator[None]:
    """Show any error raised inside as st.error; then st.stop() unless stop is False.

    Usable as `with guard():` or as a decorator `@guard()`. Engine errors carry a message
    meant for the user and are shown as is; anything else is logged with its traceback
    (server side only) and shown as a short "Something went wrong" line.
    st.stop / st.rerun raise BaseException subclasses, so they pass through untouched.
    """
    try:
        yield
    except TransferLabError as error:
        st.error(md(error))
    except Exception as error:
        logger.exception("Unexpected error in a page")
        st.error(f"Something went wrong: {md(error)}. The details are in the server log.")
    else:
        return
    if stop:
        st.stop()
