# ruff: noqa: F811 - the browser fixture is imported by name
"""In a real headless Chromium: staff see who the line hears, and a partner's flyer scans.

A small town of 37 residents (language, neighbourhood and age band each told to the line), one
partner and the census's figures; a viewer reads the side-by-side bars, the most under-heard
group first and the small groups hidden, and narrows them to the partner. The flyer is then
photographed and its QR codes read back from the picture, as a phone's camera would.

Needs Debian's `chromium` and `chromium-driver`: skipped without them on a developer's machine,
failed when `CI` is set (see tests/test_browser_dashboard.py). TOWNLINE_UPDATE_SCREENSHOT=1
refreshes docs/representation.png and docs/partner-flyer.png from what the browser shows.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import PIL.Image
import pytest
import zxingcpp
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select
from werkzeug.serving import make_server

from bot.app import create_app
from bot.community import HIDDEN
from bot.config import Settings
from bot.runtime import Runtime
from bot.services import community_figures, partners
from tests.dashboard import PASSWORD, staff_account
from tests.test_browser_dashboard import browser  # noqa: F401 - fixture used by name
from tests.test_representation import speak

DOCS = Path(__file__).resolve().parent.parent / "docs"
NUMBER = "+15555550100"  # 555-01xx: set aside for fiction, never a real line
BOT = "SpringfieldLineBot"
WIDTH = 1000  # pixels: the README's pictures stay readable without being huge
CENSUS = """dimension,value,amount,source
neighbourhood,Northside,3600,2020 census
neighbourhood,Southside,2800,2020 census
neighbourhood,Riverside,2000,2020 census
neighbourhood,Harbor,700,2020 census
neighbourhood,Old Town,500,2020 census
neighbourhood,Hillcrest,400,2020 census
language,en,5000,2020 census
language,es,3000,2020 census
language,vi,1200,2020 census
language,zh,800,2020 census
age_band,18-29,25%,2020 census
age_band,30-44,25%,2020 census
age_band,45-64,30%,2020 census
age_band,65+,20%,2020 census
"""
# Who spoke: (residents, language, neighbourhood, age band, came through Grace Church).
#   language:      en 21, es 9, vi 7, zh nobody                      (37 known)
#   neighbourhood: Northside 14, Riverside 7, Southside 6, and three small places:
#                  Harbor 4, Old Town 3, Hillcrest 3 (hidden: 10 together, so nothing more is)
#   age band:      18-29 11, 30-44 10, 45-64 10, 65+ 6
TOWN = [
    (8, "en", "Northside", "18-29", False),
    (6, "en", "Northside", "30-44", False),
    (4, "en", "Southside", "30-44", False),
    (3, "en", "Hillcrest", "18-29", False),
    (7, "es", "Riverside", "45-64", True),
    (2, "es", "Southside", "65+", False),
    (4, "vi", "Harbor", "65+", False),
    (3, "vi", "Old Town", "45-64", False),
]
# Which bar is which, read from the chart's own legend, and where each bar sits: beside the
# group label nearest to it (a bar more than one bar's height away belongs to no group).
BARS_BY_GROUP = """
const svg = arguments[0];
const fills = {};
for (const t of svg.querySelectorAll('text')) {
  const key = t.previousElementSibling;
  const fill = key && key.tagName === 'rect' ? key.getAttribute('fill') : null;
  if (fill && !(fill in fills)) fills[fill] = t.textContent;  // the legend comes first
}
const labels = [...svg.querySelectorAll('text[text-anchor="end"]')].map(t => {
  const b = t.getBBox();
  return {name: t.textContent, mid: b.y + b.height / 2};
});
const bars = {};
for (const l of labels) bars[l.name] = {};
for (const r of svg.querySelectorAll('rect')) {
  const b = r.getBBox(), mid = b.y + b.height / 2;
  const near = labels.reduce((a, l) => Math.abs(l.mid - mid) < Math.abs(a.mid - mid) ? l : a);
  if (Math.abs(near.mid - mid) < 18 && b.width > 0) {
    bars[near.name][fills[r.getAttribute('fill')]] = b.width;
  }
}
return bars;
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test agency, with a (fictional) number to text and a Telegram bot for its flyers."""
    return settings.with_overrides(sms_number=NUMBER, telegram_bot_username=BOT)


@pytest.fixture
def base(rt: Runtime) -> Iterator[str]:
    """The web app on a real local port, CSRF and all."""
    server = make_server("127.0.0.1", 0, create_app({"TESTING": True}, runtime=rt), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def seed_town(rt: Runtime) -> int:
    """The residents above, Grace Church, and the census; returns the partner's id."""
    grace = partners.create_partner(
        rt, name="Grace Church", languages=["en", "es"], keywords={"es": "VOZ"}, actor="test"
    )
    assert grace.id is not None
    n = 0
    for count, language, place, age, through_grace in TOWN:
        for _ in range(count):
            n += 1
            speak(
                rt,
                f"+1555020{n:04d}",
                language=language,
                neighbourhood=place,
                age_band=age,
                partner_id=grace.id if through_grace else None,
            )
    assert community_figures.import_csv(rt, CENSUS, "test", name="census.csv") == 14
    return grace.id


def log_in(browser: webdriver.Chrome, base: str, email: str) -> None:
    browser.get(base + "/staff/login")
    browser.find_element(By.NAME, "email").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    browser.find_element(By.XPATH, f"//span[@class='who'][contains(., '{email}')]")


def rows(browser: webdriver.Chrome, dimension: str) -> list[list[str]]:
    """The cells of one dimension's table, row by row, as the browser shows them."""
    section = browser.find_element(By.ID, f"dimension-{dimension}")
    return [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in section.find_elements(By.CSS_SELECTOR, "table.representation tbody tr")
    ]


def screenshot(browser: webdriver.Chrome, path: Path, bottom: WebElement | None = None) -> None:
    """The page WIDTH pixels wide, down to `bottom` (or the page's end), as a PNG."""
    browser.set_window_size(WIDTH, 900)
    browser.execute_script("document.documentElement.style.overflow = 'hidden'")  # no scrollbar
    browser.execute_script("window.scrollTo(0, 0)")
    end = bottom.rect["y"] + bottom.rect["height"] if bottom is not None else None
    height = int(end or browser.execute_script("return document.body.scrollHeight")) + 16
    browser.set_window_size(WIDTH, height + 200)  # the window's frame takes some
    assert browser.save_screenshot(str(path))
    with PIL.Image.open(path) as shot:
        picture = shot.convert("RGB").crop((0, 0, min(WIDTH, shot.width), height))
    picture.save(path, optimize=True)


def test_a_viewer_sees_who_is_heard_and_a_partners_flyer_scans_to_its_keyword(
    rt: Runtime, base: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    grace = seed_town(rt)
    staff_account(rt, "vic@springfield.gov", "viewer")
    staff_account(rt, "sam@springfield.gov", "staff")
    docs = DOCS if os.environ.get("TOWNLINE_UPDATE_SCREENSHOT") else tmp_path
    docs.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(WIDTH, 900)

    log_in(browser, base, "vic@springfield.gov")
    browser.find_element(By.LINK_TEXT, "Who is heard").click()
    browser.find_element(By.XPATH, "//h1[.='Who is heard']")

    chart = browser.find_element(
        By.CSS_SELECTOR, "svg.chart.representation#representation-neighbourhood"
    )
    assert chart.is_displayed()
    assert chart.rect["width"] > 0
    assert chart.rect["height"] > 0
    bars = browser.execute_script(BARS_BY_GROUP, chart)
    # Every place has the community's bar; only places of 5 or more have a bar of their own.
    assert set(bars) == {"Northside", "Southside", "Riverside", "Harbor", "Old Town", "Hillcrest"}
    assert all("The community" in bars[g] for g in bars)
    assert {g for g in bars if "Residents heard" in bars[g]} == {
        "Northside",
        "Riverside",
        "Southside",
    }
    # The bars are drawn to scale: Northside's 14 residents twice Riverside's 7, and the
    # community's 36% nine times Hillcrest's 4%.
    heard = {g: bars[g]["Residents heard"] for g in ("Northside", "Riverside")}
    assert heard["Northside"] / heard["Riverside"] == pytest.approx(2, 0.01)
    town = {g: bars[g]["The community"] for g in ("Northside", "Hillcrest")}
    assert town["Northside"] / town["Hillcrest"] == pytest.approx(9, 0.01)
    assert chart.text.count(HIDDEN) == 3

    # Southside 6/37 against 28% (0.58), Riverside 7/37 against 20% (0.95), Northside 14/37
    # against 36% (1.05); then the hidden places, the larger community first.
    assert rows(browser, "neighbourhood") == [
        ["Southside", "6", "16.2%", "28.0%", "0.58"],
        ["Riverside", "7", "18.9%", "20.0%", "0.95"],
        ["Northside", "14", "37.8%", "36.0%", "1.05"],
        ["Harbor", HIDDEN, "7.0%", "–"],
        ["Old Town", HIDDEN, "5.0%", "–"],
        ["Hillcrest", HIDDEN, "4.0%", "–"],
    ]
    # Nobody wrote in Chinese, 8% of the town: the most under-heard, first. Then es 9/37
    # against 30% (0.81), en 21/37 against 50% (1.14), vi 7/37 against 12% (1.58).
    assert rows(browser, "language") == [
        ["zh", "0", "0.0%", "8.0%", "0.00"],
        ["es", "9", "24.3%", "30.0%", "0.81"],
        ["en", "21", "56.8%", "50.0%", "1.14"],
        ["vi", "7", "18.9%", "12.0%", "1.58"],
    ]
    language = browser.find_element(By.ID, "representation-language")
    assert "Residents heard" not in browser.execute_script(BARS_BY_GROUP, language)["zh"]
    # 65+ 6/37 against 20% (0.81), 45-64 10/37 against 30% (0.90), 30-44 and 18-29 above 1.
    assert [r[0] for r in rows(browser, "age_band")] == ["65+", "45-64", "30-44", "18-29"]
    page = browser.page_source
    assert "+1555020" not in page  # no resident's number, not even masked: aggregates only
    assert "streetlights" not in page  # nor their words
    screenshot(
        browser, docs / "representation.png", browser.find_element(By.ID, "dimension-language")
    )

    # Narrowed to Grace Church: its 7 Spanish speakers only; nobody else came through it.
    browser.set_window_size(WIDTH, 900)
    Select(browser.find_element(By.NAME, "partner")).select_by_visible_text("Grace Church")
    browser.find_element(By.XPATH, "//form[@class='filters']//button[.='Show']").click()
    browser.find_element(By.XPATH, "//p[contains(., 'through Grace Church')]")
    assert f"partner={grace}" in browser.current_url
    assert [r[:2] for r in rows(browser, "language")] == [
        ["en", "0"],
        ["vi", "0"],
        ["zh", "0"],
        ["es", "7"],
    ]
    assert [r[:2] for r in rows(browser, "neighbourhood")][-1] == ["Riverside", "7"]

    browser.find_element(By.XPATH, "//button[.='Log out']").click()
    browser.find_element(By.NAME, "password")  # the login page: the viewer's session is over
    log_in(browser, base, "sam@springfield.gov")
    browser.get(f"{base}/staff/partners/{grace}/flyer?lang=es")
    browser.find_element(
        By.XPATH, f"//h2[contains(., 'Envíe VOZ por mensaje de texto al {NUMBER}')]"
    )
    codes = browser.find_elements(By.CSS_SELECTOR, "img[src*='qr.svg']")
    assert len(codes) == 2
    assert all(browser.execute_script("return arguments[0].naturalWidth", c) > 0 for c in codes)
    flyer = docs / "partner-flyer.png"
    screenshot(browser, flyer)
    with PIL.Image.open(flyer) as picture:
        read = sorted(code.text for code in zxingcpp.read_barcodes(picture))
    assert read == [f"https://t.me/{BOT}?start=partner-grace-church", f"sms:{NUMBER}?body=VOZ"]
