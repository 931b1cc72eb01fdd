"""NaN and ±Infinity in JSON results are null: strict JSON that ``JSON.parse`` accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/openeo/1.2"


def strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"non-JSON literal {constant} in the result")

    return json.loads(text, parse_constant=refuse)


def graph(save: bool) -> dict[str, Any]:
    nodes: dict[str, Any] = {
        "n": {"process_id": "divide", "arguments": {"x": 0, "y": 0}},
        "p": {"process_id": "divide", "arguments": {"x": 1, "y": 0}},
        "m": {"process_id": "divide", "arguments": {"x": -1, "y": 0}},
        "a": {
            "process_id": "array_create",
            "arguments": {
                "data": [{"from_node": "n"}, {"from_node": "p"}, {"from_node": "m"}, 1.5]
            },
        },
    }
    if save:
        nodes["s"] = {"process_id": "save_result",
                      "arguments": {"data": {"from_node": "a"}, "format": "JSON"}}  # fmt: skip
        nodes["s"]["result"] = True
    else:
        nodes["a"]["result"] = True
    return {"process": {"process_graph": nodes}}


@pytest.mark.parametrize("save", [False, True])
def test_nan_and_infinities_are_null(client: TestClient, save: bool) -> None:
    r = client.post(API + "/result", json=graph(save))
    assert r.status_code == 200, r.text
    assert strict(r.text) == [None, None, None, 1.5]
