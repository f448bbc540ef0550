"""`/schema` renders without the internet: every asset it references is served by
Bookpay itself, from the pinned swagger-ui-py package (issue 15, "Docs offline")."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.integration.http.conftest import Api


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_every_asset_of_the_docs_page_comes_from_the_server_itself(
    api: Api, page: str
) -> None:
    response = await api.client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert len(assets) >= 3, html[:500]
    assert "SwaggerUIBundle" in html
    for asset in assets:
        url = urljoin(f"http://testserver.local{page}", asset)
        assert urlsplit(url).netloc == "testserver.local", f"{asset} is fetched from elsewhere"
        fetched = await api.client.get(url)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 0, asset
    assert not re.search(r"https?://(?!testserver\.local)", html.split("spec:")[0])


async def test_the_swagger_ui_bundle_is_the_pinned_one(api: Api) -> None:
    bundle = await api.client.get("/schema-assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert b"SwaggerUIBundle" in bundle.content
    licence = await api.client.get("/schema-assets/LICENSE")
    assert licence.status_code == 200
    assert b"Apache License" in licence.content
