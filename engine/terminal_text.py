"""User text on its way to a terminal: names, labels, file and tensor names.

They come from files and flags owb did not write, so they may hold escape
sequences (``\\x1b]0;pwned\\x07`` retitles the terminal, ``\\x1b[2J`` clears
it), a CR that overprints a line, or bidi overrides that reorder it. Every
such character is shown as a visible escape (``\\x1b``), so a name prints
literally: distinguishable, one line, and never interpreted. Markup is the
other half: the CLI's console and the TUI's cells and notifications print
strings as plain text (owb_tui.safe_text), never as Rich markup."""

from __future__ import annotations

from typing import Any


def _table() -> dict[int, str]:
    table = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
    # bidi embeddings, overrides and isolates: they reorder what follows
    table.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)})
    # surrogateescape'd bytes of a non-UTF-8 file name: shown as the byte
    table.update({c: f"\\x{c - 0xDC00:02x}" for c in range(0xDC80, 0xDD00)})
    table.update({c: f"\\u{c:04x}" for c in range(0xD800, 0xE000) if c not in table})
    return table


_VISIBLE = _table()


def printable(value: Any) -> str:
    """``value`` as one line of text with no control characters in it."""
    return str(value).translate(_VISIBLE)
