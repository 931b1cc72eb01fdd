"""What a UDF prints or logs reaches the job log (``job.logs()``) and the monitor log of a
synchronous request, naming the node; a UDF refused by the sandbox is logged the same way.
The UDF declares a PEP 723 dependency (``numpy-financial``, from PyPI), so both modes
also install and use one (the unit test ``test_udf_deps.py`` checks the environment).

Runs on the shared live server (local mode) with the official client.
"""

from __future__ import annotations

import re
import textwrap

import httpx
import openeo
import pytest

from eostation.engine.processes.cubes.udf_process import sandbox_problem

pytestmark = pytest.mark.e2e

UDF = textwrap.dedent(
    """
    # /// script
    # dependencies = ["numpy-financial"]
    # ///
    import logging
    import numpy_financial
    from openeo.udf import XarrayDataCube

    def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
        array = cube.get_array()
        print("chunk of", array.shape, "marker", context["marker"])
        print("future value", numpy_financial.fv(0.0, 2, -3.0, 0.0))
        logging.getLogger("udf").warning("careful with %s", context["marker"])
        if context.get("connect"):
            import socket
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        return XarrayDataCube(array * 2)
    """
)


def _cube(connection: openeo.Connection, **context: object) -> openeo.DataCube:
    cube = connection.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": 11.0, "south": 46.0, "east": 11.002, "north": 46.002},
        temporal_extent=["2022-06-01", "2022-06-06"],
        bands=["B04"],
    )
    return cube.apply(openeo.UDF(UDF, runtime="Python", context=context))


@pytest.fixture
def connection(live_server: str) -> openeo.Connection:
    problem = sandbox_problem()
    if problem is not None:  # the sandbox tests assert that UDFs are off then
        pytest.skip(f"the UDF sandbox cannot be built here: {problem}")
    return openeo.connect(live_server)


def test_udf_output_reaches_the_job_log_with_the_node_id(connection: openeo.Connection) -> None:
    job = _cube(connection, marker="m-batch").create_job(out_format="netCDF")
    job.start_and_wait(max_poll_interval=0.2)
    messages = {(entry["level"], entry["message"]) for entry in job.logs()}
    udf_lines = [m for _, m in messages if m.startswith("UDF (node '")]
    node = re.match(r"UDF \(node '([^']+)'\)", udf_lines[0])
    assert node is not None
    node_id = node.group(1)
    assert (
        node_id
        in job.describe()["process"]["process_graph"]["apply1"]["arguments"]["process"][
            "process_graph"
        ]
    )
    assert any(
        level == "info"
        and re.fullmatch(rf"UDF \(node '{node_id}'\): chunk of \(.*\) marker m-batch", m)
        for level, m in messages
    ), messages
    assert ("warning", f"UDF (node '{node_id}'): careful with m-batch") in messages
    # Its PEP 723 dependency was installed on the server and imported in the batch job.
    assert ("info", f"UDF (node '{node_id}'): dependencies numpy-financial") in messages
    assert ("info", f"UDF (node '{node_id}'): future value 6.0") in messages


def test_udf_output_and_refusals_reach_the_sync_monitor_log(
    connection: openeo.Connection, live_server: str
) -> None:
    graph = _cube(connection, marker="m-sync").save_result("netCDF").flat_graph()
    response = httpx.post(
        live_server + "/openeo/1.2/result", json={"process": {"process_graph": graph}}, timeout=120
    )
    assert response.status_code == 200, response.text
    monitor = re.search(r"<([^>]+)>; rel=\"monitor\"", response.headers["Link"])
    assert monitor is not None
    entries = httpx.get(monitor.group(1), timeout=30).json()["logs"]
    assert any(
        re.fullmatch(r"UDF \(node '\w+'\): careful with m-sync", e["message"]) for e in entries
    )
    refused_graph = (
        _cube(connection, marker="m-net", connect=True).save_result("netCDF").flat_graph()
    )
    refused = httpx.post(
        live_server + "/openeo/1.2/result",
        json={"process": {"process_graph": refused_graph}},
        timeout=120,
    )
    assert refused.status_code == 400 and "network access is disabled" in refused.json()["message"]
    # A failed request has no body to carry the monitor link; its log is kept under the
    # request id that the error JSON quotes.
    logs_url = f"{live_server}/openeo/1.2/result/logs/{refused.json()['id']}"
    errors = [
        e["message"]
        for e in httpx.get(logs_url, timeout=30).json()["logs"]
        if e["level"] == "error"
    ]
    assert any("failed" in m and "network access is disabled" in m for m in errors), errors
