"""The simulator page and health check, through Flask's test client and a real `townline serve`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flask.testing import FlaskClient

from bot.runtime import Runtime
from bot.worker import Worker


def _csrf(client: FlaskClient) -> str:
    page = client.get("/simulator").get_data(as_text=True)
    marker = 'name="csrf-token" content="'
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_healthz_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "inbound_waiting": 0}


def test_the_simulator_page_goes_through_engine_and_outbox(
    client: FlaskClient, rt: Runtime
) -> None:
    assert client.get("/simulator").status_code == 200
    said = client.post(
        "/simulator/send", json={"address": "sim-web-1", "text": "The park gate is broken"}
    )
    assert said.status_code == 202
    before = client.post("/simulator/messages", json={"address": "sim-web-1", "after": 0})
    assert before.get_json() == {"messages": []}  # nothing until the worker sends it
    Worker(rt).drain()
    after = client.post("/simulator/messages", json={"address": "sim-web-1", "after": 0})
    [message] = after.get_json()["messages"]
    assert "kept your words" in message["text"]
    assert message["choices"][0] == {
        "key": "1",
        "label": "A safety concern",
        "value": "topic:safety",
    }


def test_a_button_press_is_a_choice(client: FlaskClient, rt: Runtime) -> None:
    client.post("/simulator/send", json={"address": "sim-web-2", "text": "Dogs off leash"})
    client.post(
        "/simulator/send", json={"address": "sim-web-2", "text": "1", "choice": "topic:safety"}
    )
    Worker(rt).drain()
    messages = client.post("/simulator/messages", json={"address": "sim-web-2", "after": 1})
    assert "Anything else we should know" in messages.get_json()["messages"][0]["text"]


def test_bad_input_gets_a_clear_400(client: FlaskClient) -> None:
    assert client.post("/simulator/send", data="not json").status_code == 400
    bad_address = client.post("/simulator/send", json={"address": "x", "text": "hi"})
    assert bad_address.status_code == 400
    too_long = client.post("/simulator/send", json={"address": "sim-ok", "text": "a" * 5000})
    assert too_long.status_code == 400
    assert "4000" in too_long.get_json()["error"]
    assert (
        client.post("/simulator/messages", json={"address": "sim-ok", "after": -1}).status_code
        == 400
    )


def test_the_simulator_needs_a_csrf_token_when_protection_is_on(rt: Runtime) -> None:
    from bot.app import create_app

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True}, runtime=rt)
    client = app.test_client()
    body = {"address": "sim-csrf", "text": "hello"}
    assert client.post("/simulator/send", json=body).status_code == 400
    token = _csrf(client)
    ok = client.post("/simulator/send", json=body, headers={"X-CSRFToken": token})
    assert ok.status_code == 202


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, object], token: str, cookie: str) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-CSRFToken": token, "Cookie": cookie},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_townline_serve_answers_and_its_in_process_worker_replies(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TOWNLINE_INSTANCE": str(tmp_path),
        "TOWNLINE_SIMULATOR": "public",  # the laptop's default, whichever database runs
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                    assert json.loads(response.read())["status"] == "ok"
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("townline serve did not answer /healthz")
        with urllib.request.urlopen(base + "/simulator", timeout=5) as response:
            page = response.read().decode()
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        _post(
            base + "/simulator/send",
            {"address": "sim-serve", "text": "Loud music at 3am"},
            token,
            cookie,
        )
        for _ in range(100):  # the in-process worker sends within a second or so
            got = _post(
                base + "/simulator/messages", {"address": "sim-serve", "after": 0}, token, cookie
            )
            if got["messages"]:
                break
            time.sleep(0.1)
        assert "kept your words" in str(got["messages"])
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()
