"""The README's first-booking walkthrough, run as written (issue 15: examples that cannot
rot). Each ```http block is one request; its fence says the status to expect and which
answer fields to keep (`NAME=field.path`) for the `$NAME`s of later blocks; `csv` means the
answer must be the ```csv block that follows, byte for byte (line endings aside)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.integration.http.conftest import Api

README = Path(__file__).resolve().parents[3] / "README.md"
BLOCK = re.compile(r"```http ([^\n]*)\n(.*?)```(?:\s*```csv\n(.*?)```)?", re.DOTALL)


@dataclass
class Example:
    expect: int
    keep: dict[str, str]
    csv: str | None
    text: str
    variables: dict[str, str] = field(default_factory=dict)


def _examples() -> list[Example]:
    examples = []
    for info, text, csv_text in BLOCK.findall(README.read_text()):
        words = info.split()
        expect = next(int(w.split("=")[1]) for w in words if w.startswith("expect="))
        keep = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("expect="))
        wants_csv = "csv" in words
        examples.append(Example(expect, keep, csv_text if wants_csv else None, text))
    return examples


def _substitute(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in variables, f"${name} is used before an answer names it"
        return variables[name]

    return re.sub(r"\$([A-Z_]+)", value, text)


def _pick(document: Any, path: str) -> str:
    for part in path.split("."):
        document = document[int(part)] if part.isdigit() else document[part]
    return str(document)


def test_the_readme_has_the_whole_walkthrough() -> None:
    examples = _examples()
    assert len(examples) >= 12
    kept = {name for e in examples for name in e.keep}
    assert {"TENANT_KEY", "OFFERING_ID", "SLOT_ID", "CHECKOUT_URL", "BOOKING_ID"} <= kept
    assert sum(e.csv is not None for e in examples) == 1


async def test_the_readme_walkthrough_runs_as_written(api: Api) -> None:
    variables = {"ADMIN_KEY": api.admin_key}
    for example in _examples():
        request_line, _, rest = _substitute(example.text, variables).partition("\n")
        head, _, body = rest.partition("\n\n")
        method, url = request_line.split(" ", 1)
        parts = urlsplit(url.strip())
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {
            name.strip(): value.strip()
            for name, _, value in (line.partition(":") for line in head.splitlines() if line)
        }
        response = await api.client.request(
            method,
            target,
            headers=headers,
            content=body.strip().encode() if body.strip() else None,
            follow_redirects=False,
        )
        assert response.status_code == example.expect, (request_line, response.text)
        if example.keep:
            answer = response.json()
            for name, path in example.keep.items():
                variables[name] = _pick(answer, path)
        if example.csv is not None:
            assert response.headers["content-type"].startswith("text/csv")
            assert response.text.replace("\r\n", "\n") == example.csv
    assert variables["TOTAL"] == "4230"
    assert variables["STATUS"] == "confirmed"
