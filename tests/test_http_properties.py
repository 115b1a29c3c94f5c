"""Property tests of the HTTP API, driven by its own OpenAPI schema, against a running server.

Bodies valid under the schema (drawn by `from_schema` below, which reads the subset of JSON
Schema that FastAPI writes) must score (200) with offsets that slice
back to each sentence; arbitrary bytes and arbitrary JSON must get a 4xx, never a 5xx or a hung
connection. Example counts: the hypothesis profile in conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from serving_helpers import serving

from detente.serving.http import create_app
from detente.serving.scorer import Scorer

MAX_BYTES = 20_000


@pytest.fixture(scope="module")
def api(tiny_model_dir: Path) -> Iterator[tuple[httpx.Client, dict]]:
    app = create_app(Scorer.load(tiny_model_dir), max_bytes=MAX_BYTES, max_batch=4, timeout_s=60)
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield client, client.get("/openapi.json").json()


def body_schema(openapi: dict, path: str) -> dict:
    content = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {**content["schema"], "components": openapi["components"]}


def from_schema(schema: dict, root: dict) -> st.SearchStrategy:
    """Values valid under `schema` (objects, strings, enums, arrays, anyOf, null, $ref).

    Strings are any Unicode (RTL, combining marks, emoji, NUL) of at most 300 characters, so
    examples stay quick to score; optional fields are sometimes left out.
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: from_schema(root["components"]["schemas"][name], root))
    if "anyOf" in schema:
        return st.one_of([from_schema(option, root) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "string":
        low, high = schema.get("minLength", 0), min(schema.get("maxLength", 300), 300)
        return st.text(min_size=low, max_size=high).filter(lambda t: len(t) >= low)
    if kind == "array":
        low = schema.get("minItems", 0)
        return st.lists(from_schema(schema["items"], root), min_size=low, max_size=max(low, 3))
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: from_schema(v, root) for k, v in properties.items() if k in required},
            optional={k: from_schema(v, root) for k, v in properties.items() if k not in required},
        )
    raise AssertionError(f"schema not covered: {schema}")


def check_result(article: dict, result: dict) -> None:
    for sentence in result["sentences"]:
        assert result["text"][sentence["start"] : sentence["end"]] == sentence["text"]
    assert result["summary"]["sentences"] == len(result["sentences"])


def test_schema_valid_single_requests_score(api) -> None:
    client, openapi = api

    @given(from_schema(body_schema(openapi, "/v1/score"), openapi))
    def check(body: dict) -> None:
        response = client.post("/v1/score", json=body)
        if len(json.dumps(body).encode()) > MAX_BYTES:
            assert response.status_code == 413
            return
        assert response.status_code == 200, response.text
        check_result(body, response.json())

    check()


def test_schema_valid_batches_score_or_are_refused_clearly(api) -> None:
    client, openapi = api

    @given(from_schema(body_schema(openapi, "/v1/score/batch"), openapi))
    def check(body: dict) -> None:
        response = client.post("/v1/score/batch", json=body)
        assert response.status_code in (200, 413, 422), response.text
        if response.status_code == 200:
            results = response.json()["results"]
            assert len(results) == len(body["articles"])
            for article, result in zip(body["articles"], results, strict=True):
                check_result(article, result)
        else:
            assert response.json()["detail"]

    check()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["text", "id", "target", "format", "articles"]) | st.text(),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@given(body=st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bodies_get_a_4xx_or_a_result(api, body: bytes) -> None:
    client, _ = api
    for path in ("/v1/score", "/v1/score/batch"):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code in (200, 413, 422), (body, response.text)
        assert response.json()
