"""The corpus is built once per session and shared by the CLI and TUI tests;
no test may change it (the CLI cases hash it before and after)."""

from __future__ import annotations

import pytest

from .cases import build_corpus
from .hardening_cases import remove_deep


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    src = build_corpus(tmp_path_factory.mktemp("badinput-corpus") / "src")
    yield src
    remove_deep(src.parent / "deep")  # pytest's own clean-up recurses, and 1100 levels exceed Python's limit
