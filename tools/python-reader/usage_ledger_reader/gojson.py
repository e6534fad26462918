"""Strings as Go's ``encoding/json`` writes them (HTML-safe escaping, the default).

packages/snapshots/README.md, "Statistics snapshot JSON".
"""

from __future__ import annotations

_SHORT = {0x22: '\\"', 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
_UNICODE = {0x3C, 0x3E, 0x26, 0x2028, 0x2029}


def _escape(code: int) -> str | None:
    short = _SHORT.get(code)
    if short is not None:
        return short
    if code < 0x20 or code in _UNICODE:
        return f"\\u{code:04x}"
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate: not text Go could hold
        return "\\ufffd"
    return None


def go_string(value: str) -> str:
    """The JSON string literal of ``value`` as Go's ``json.Marshal`` writes it."""
    out = ['"']
    for char in value:
        escaped = _escape(ord(char))
        out.append(char if escaped is None else escaped)
    out.append('"')
    return "".join(out)
