"""A NUL character in a JSON text's strings is found wherever it is, and only there."""

from __future__ import annotations

import pytest

from entrypoints.http.strict_json import json_text_has_nul


@pytest.mark.parametrize(
    ("body", "has_nul"),
    [
        (b'{"id": "evt_1", "data": {"object": {"account": "acct_\\u0000"}}}', True),
        (b'{"a\\u0000": 1}', True),
        (b'[[["x", "\\u0000"]]]', True),
        # A backslash written as `\\` followed by the text u0000 is no NUL.
        (b'{"note": "\\\\u0000"}', False),
        (b'{"id": "evt_1", "data": {"object": {"amount_total": 1000}}}', False),
        # Not JSON (a raw NUL is malformed JSON): whoever reads it refuses it.
        (b'{"a": "x\x00y"}', False),
        (b'{"a": "\\u0000"', False),
    ],
)
def test_a_nul_is_found_only_in_a_string(body: bytes, has_nul: bool) -> None:
    assert json_text_has_nul(body) is has_nul
