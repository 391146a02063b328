# ruff: noqa: F811 - the browser fixture is imported by name
"""In a real browser: Arabic reads right to left in the simulator, the dashboard and the pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime
from tests.dashboard import PASSWORD, staff_account
from tests.test_browser_dashboard import browser  # noqa: F401 - fixture used by name
from tests.test_story_ten_languages import TEN

ARABIC = "مرحبا، الشارع أمام المدرسة مظلم جداً في الليل ونحتاج إلى إنارة"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test agency, offering Arabic among every language Townline ships."""
    return settings.with_overrides(languages=TEN)


@pytest.fixture
def base(rt: Runtime) -> Iterator[str]:
    """The web app on a real local port, with its in-process worker's job done by the test."""
    server = make_server("127.0.0.1", 0, create_app({"TESTING": True}, runtime=rt), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _direction(browser: webdriver.Chrome, element: object) -> str:
    return str(browser.execute_script("return getComputedStyle(arguments[0]).direction", element))


def test_an_arabic_resident_and_the_staff_who_read_them_see_right_to_left(
    rt: Runtime, base: str, browser: webdriver.Chrome
) -> None:
    from bot.worker import Worker

    browser.get(base + "/simulator")
    browser.find_element(By.ID, "text").send_keys(ARABIC)
    browser.find_element(By.CSS_SELECTOR, "#composer button[type=submit]").click()
    mine = browser.find_element(By.CSS_SELECTOR, "#thread li.in")
    assert _direction(browser, mine) == "rtl"
    worker = Worker(rt)  # the in-process worker's job, done by the test until the reply shows

    def replied(b: webdriver.Chrome) -> list[object]:
        worker.drain()
        return b.find_elements(By.CSS_SELECTOR, "#thread li.out")

    reply = WebDriverWait(browser, 20).until(replied)[0]
    assert _direction(browser, reply) == "rtl"
    assert rt.catalog.text("topic_question", "ar")[:10] in reply.text

    browser.get(base + "/?lang=ar")
    page = browser.find_element(By.TAG_NAME, "html")
    assert page.get_attribute("dir") == "rtl"
    assert _direction(browser, browser.find_element(By.TAG_NAME, "p")) == "rtl"

    staff_account(rt, "sam@city.gov", "staff")
    browser.get(base + "/staff")
    browser.find_element(By.NAME, "email").send_keys("sam@city.gov")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    words = browser.find_element(By.CSS_SELECTOR, "a[lang=ar]")
    assert words.text == ARABIC
    assert _direction(browser, words) == "rtl"
    staff_page = browser.find_element(By.TAG_NAME, "html")
    assert _direction(browser, staff_page) == "ltr"  # the dashboard itself stays in English
