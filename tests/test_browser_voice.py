# ruff: noqa: F811 - the browser and line fixtures are imported by name
"""In a real headless Chromium: staff open a response a resident gave by phone and play the
recording of the call, which reaches the browser only through the dashboard's own proxy.

Needs Debian's `chromium` and `chromium-driver`, as tests/test_browser_dashboard.py does.
"""

from __future__ import annotations

import threading

from selenium import webdriver
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from tests.dashboard import PASSWORD, staff_account
from tests.sms_kit import SmsLine
from tests.test_browser_dashboard import browser  # noqa: F401 - fixture used by name
from tests.test_voice_recordings import (  # noqa: F401 - fixture used by name
    OPENING,
    line,
    opening,
    recorded_call,
)

PLAY = """
const done = arguments[arguments.length - 1];
const audio = document.querySelector("audio");
audio.play().then(
  () => done({played: true, duration: audio.duration, source: audio.currentSrc}),
  (error) => done({played: false, error: String(error)}),
);
"""


def test_staff_play_the_recording_of_a_call_in_the_browser(
    line: SmsLine, browser: webdriver.Chrome
) -> None:
    call = recorded_call(line, seconds=42)
    response = opening(line)
    staff_account(line.rt, "sam@city.gov", "viewer")
    server = make_server("127.0.0.1", 0, line.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        browser.get(base + f"/staff/responses/{response.id}")
        browser.find_element(By.NAME, "email").send_keys("sam@city.gov")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        browser.find_element(By.XPATH, f"//h1[contains(., 'Response {response.id}')]")
        assert OPENING in browser.page_source
        assert "transcript" in browser.page_source
        assert "Recording of the call (0:42)" in browser.page_source
        assert "twilio.com" not in browser.page_source

        audio = browser.find_element(By.CSS_SELECTOR, "audio")
        assert audio.get_attribute("preload") == "none"
        assert audio.get_attribute("src") == f"{base}/staff/recordings/{call.row().id}"
        audio.click()  # a person's click on the player: the browser lets it make sound
        browser.set_script_timeout(10)
        played = browser.execute_async_script(PLAY)
        assert played.get("played"), played
        assert played["duration"] > 0
        assert played["source"].startswith(base + "/staff/recordings/")
        # Nothing refused on the way (a CSP refusal of the media would be logged here).
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not [e for e in errors if "recordings" in e or "Content Security Policy" in e]
    finally:
        server.shutdown()
