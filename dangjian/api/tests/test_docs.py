"""The OpenAPI document, the docs page (intranet rule: nothing from an outside host) and unknown paths."""

import json
import re
from urllib.parse import urlparse

from django.test import Client

from .conftest import assert_error


def test_openapi_lists_the_paths(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert {"/api/v1/organizations", "/api/v1/organizations/{id}", "/api/v1/members", "/api/v1/members/{id}",
            "/api/v1/members/{id}/reveal"} <= set(doc["paths"])
    prefixes = {"organizations", "members", "meetings", "dues", "transfers", "bases", "recruitment"}  # one router per app
    assert {path.split("/")[3] for path in doc["paths"]} <= prefixes
    assert set(doc["paths"]["/api/v1/members/{id}"]) == {"get", "patch"}
    assert set(doc["components"]["securitySchemes"]) == {"TokenAuth", "SessionAuth"}
    member = doc["components"]["schemas"]["MemberOut"]["properties"]
    assert "id_number_masked" in member and not any("encrypted" in k or "digest" in k for k in member)


def test_docs_page_loads_nothing_from_outside(db):
    client = Client()
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html)
    assert urls, html
    for url in urls:
        parsed = urlparse(url)
        assert parsed.scheme in ("", "http", "https") and parsed.netloc in ("", "testserver"), url
        asset = client.get(url)  # every asset is served by this server
        assert asset.status_code == 200 and b"".join(asset.streaming_content), url
        asset.close()
    assert "cdn" not in html.lower()
    assert "validator.swagger.io" not in html and '"validatorUrl": "none"' in html


def test_docs_assets_are_an_allow_list(db):
    assert_error(Client().get("/api/v1/docs/assets/redoc.standalone.js"), 404)
    assert_error(Client().get("/api/v1/docs/assets/..%2F__init__.py"), 404)


def test_unknown_api_path_answers_in_the_error_shape(db):
    body = assert_error(Client().get("/api/v1/no/such/thing"), 404)
    assert body["code"] == "not_found"
