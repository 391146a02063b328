# ruff: noqa: F811 - the browser and provider fixtures are imported by name
"""In a real browser: staff read a Vietnamese concern in English, draft the follow-up's other
languages by machine translation, review the draft, and each resident hears back in kind."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from bot.app import create_app
from bot.runtime import Runtime
from bot.services import translation
from tests.dashboard import PASSWORD, staff_account
from tests.fakes.libretranslate_api import DEFAULT_API_KEY, FakeLibreTranslate
from tests.test_browser_dashboard import (  # noqa: F401 - fixtures used by name
    FakeProvider,
    FakeProviderChannel,
    _say,
    browser,
    provider,
)

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "translation-inbox.png"
VI = "Xe chạy quá nhanh trên đường Elm."
VI_EN = "Cars drive too fast on Elm Street."
EN = "We will fix the streetlight."
VI_REVIEWED = "Chúng tôi sẽ sửa đèn đường."


def test_staff_read_in_english_review_a_vietnamese_draft_and_residents_hear_back(
    rt: Runtime,
    provider: FakeProvider,
    browser: webdriver.Chrome,
    tmp_path: Path,
) -> None:
    with FakeLibreTranslate() as fake:
        rt.settings = rt.settings.with_overrides(
            translate="libretranslate",
            libretranslate_url=fake.url,
            libretranslate_key=DEFAULT_API_KEY,
        )
        rt.channels["fakesms"] = FakeProviderChannel(provider.url)
        app = create_app({"TESTING": True}, runtime=rt)
        for line in ("TIẾNG VIỆT", VI, "1", "bỏ qua", "Elm", "có"):
            _say(rt, "+15550003333", line)
        for line in ("The streetlight on Elm is out", "1", "skip", "Elm", "yes"):
            _say(rt, "+15550004444", line)
        assert translation.InboundJob().run(rt) == 1
        staff_account(rt, "sam@city.gov", "staff")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            browser.get(base + "/staff")
            browser.find_element(By.NAME, "email").send_keys("sam@city.gov")
            browser.find_element(By.NAME, "password").send_keys(PASSWORD)
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            browser.find_element(By.XPATH, "//h1[.='Inbox']")
            shown = browser.find_element(By.CSS_SELECTOR, "[data-translation]")
            assert VI_EN in shown.text
            assert VI in browser.page_source
            shot = (
                SCREENSHOT if os.environ.get("TOWNLINE_UPDATE_SCREENSHOT") else tmp_path / "t.png"
            )
            assert browser.save_screenshot(str(shot))

            for box in browser.find_elements(By.CSS_SELECTOR, "input[name=ids]"):
                box.click()
            browser.find_element(By.NAME, "concern_title").send_keys("Elm streetlight")
            browser.find_element(By.CSS_SELECTOR, "button[value=group]").click()
            browser.find_element(By.XPATH, "//button[text()='Record what the agency did']").click()
            browser.find_element(By.NAME, "title").send_keys("Streetlight fixed")
            browser.find_element(By.NAME, "message_en").send_keys(EN)
            browser.find_element(By.XPATH, "//button[text()='Save']").click()
            browser.find_element(By.XPATH, "//p[contains(., 'Saved.')]")
            browser.find_element(By.ID, "draft-languages").click()
            browser.find_element(By.XPATH, "//p[contains(., 'read each draft and tick Reviewed')]")
            assert browser.find_element(By.CSS_SELECTOR, "[data-draft=vi]")

            browser.find_element(By.ID, "publish").click()  # not yet: nobody reviewed it
            browser.find_element(By.XPATH, "//p[contains(., 'must review the machine-drafted')]")

            box = browser.find_element(By.NAME, "message_vi")
            box.clear()
            box.send_keys(VI_REVIEWED)
            browser.find_element(By.NAME, "reviewed_vi").click()
            browser.find_element(By.XPATH, "//button[text()='Save']").click()
            browser.find_element(By.XPATH, "//p[contains(., 'Saved.')]")
            browser.find_element(By.ID, "publish").click()
            browser.find_element(By.XPATH, "//p[contains(., 'Published: 2 follow-ups queued')]")
            from bot.worker import Worker

            Worker(rt).drain()
            assert provider.sent_to("+15550003333")[-1]["body"] == VI_REVIEWED
            assert provider.sent_to("+15550004444")[-1]["body"] == EN
        finally:
            server.shutdown()
