"""Return URLs lead only to allowed hosts: no open redirect (issue 14, "Open redirect")."""

from __future__ import annotations

import pytest

from domain.errors import ReturnUrlNotAllowed
from domain.return_urls import require_allowed_return_url

ALLOWED = frozenset({"shop.example", "localhost"})


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/phish",
        "http://127.0.0.1@evil.example/",
        "https://shop.example@evil.example/",
        "http://shop.example/done",
        "https://shop.example\\@evil.example/",
        "https://shop.example/done\r\nSet-Cookie: a=b",
        "https://shop.example/done\n",
        "javascript:alert(1)//shop.example",
        "https://evil.example/?next=https://shop.example",
        "https://shop.example.evil.example/",
        "ftp://shop.example/",
        "https://shop.example:99999/",
    ],
)
def test_a_return_url_off_the_allow_list_is_refused(url: str) -> None:
    with pytest.raises(ReturnUrlNotAllowed):
        require_allowed_return_url(url, ALLOWED)


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/done?session={CHECKOUT_SESSION_ID}",
        "https://SHOP.example:8443/done",
        "http://localhost:3000/back",
        "https://localhost/back",
    ],
)
def test_a_return_url_on_the_allow_list_is_kept(url: str) -> None:
    assert require_allowed_return_url(url, ALLOWED) == url
