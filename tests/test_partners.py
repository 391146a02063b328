"""Stories: staff add partner organisations, each with its own keyword, links, QR codes and a
flyer; a keyword the line already acts on, or another partner's, is refused."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import PIL.Image
import pytest
import zxingcpp
from click.testing import CliRunner
from flask.testing import FlaskClient

from bot.app import create_app
from bot.cli import main
from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.services import partners
from bot.services.partners import PartnerError
from bot.simulate import Simulator
from storage import audit, conversations
from storage import partners as partner_rows
from storage.db import transaction
from tests.dashboard import log_in, post_form, staff_account

NUMBER = "+15550100"
BOT = "SpringfieldLineBot"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test agency, with a number to text and a Telegram bot to print on flyers."""
    return settings.with_overrides(sms_number=NUMBER, telegram_bot_username=BOT)


def _staff(client: FlaskClient, rt: Runtime, role: str = "staff") -> None:
    assert log_in(client, staff_account(rt, f"{role}@springfield.gov", role)) == 302


def _decode(png: bytes) -> str:
    [found] = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))
    return found.text


def test_staff_add_a_partner_on_the_dashboard_and_see_its_keywords_and_links(
    rt: Runtime, client: FlaskClient
) -> None:
    _staff(client, rt)
    added = post_form(
        client,
        "/staff/partners",
        {
            "name": "Grace Church",
            "contact": "Pastor Ruth, 555-0142",
            "language": ["en", "es"],
            "neighbourhoods": "Riverside\n  Old Town  \n",
            "keyword_es": "voz",
            "public_consent": "yes",
        },
    )
    assert added.status_code == 302  # type: ignore[attr-defined]
    [(grace, residents)] = partners.list_partners(rt)
    assert grace.code == "grace-church"
    assert grace.keywords == {lang: "GRACE" for lang in rt.catalog.languages} | {"es": "VOZ"}
    assert grace.languages == ["en", "es"]
    assert grace.neighbourhoods == ["Riverside", "Old Town"]
    assert grace.public_consent
    assert residents == 0

    page = client.get(f"/staff/partners/{grace.id}").get_data(as_text=True)
    assert "VOZ" in page
    assert "GRACE" in page
    assert f"sms:{NUMBER}?body=VOZ" in page
    assert f"https://t.me/{BOT}?start=partner-grace-church" in page
    assert f"/staff/partners/{grace.id}/flyer?lang=es" in page
    listing = client.get("/staff/partners").get_data(as_text=True)
    assert "Grace Church" in listing
    assert "Riverside; Old Town" in listing
    with transaction(rt.db) as session:
        [entry] = [e for e in audit.recent(session) if e.action == "partner.create"]
    assert entry.actor == "staff@springfield.gov"
    assert entry.target_id == grace.id
    assert entry.detail
    assert entry.detail["keywords"]["es"] == "VOZ"


def test_the_residents_who_came_through_a_partner_are_counted_on_the_list(
    rt: Runtime, client: FlaskClient
) -> None:
    grace = partners.create_partner(rt, name="Grace Church", actor="test")
    for address in ("sim-ana", "sim-bo"):
        Simulator(rt, address).say("hello")
        with transaction(rt.db) as session:
            contact = conversations.find_contact(session, "simulator", address)
            assert contact is not None
            partner_rows.arrived_through(session, contact.id, grace.id)  # type: ignore[arg-type]
    Simulator(rt, "sim-cy").say("hello")  # came in directly: not counted
    assert partners.list_partners(rt) == [(grace, 2)]
    _staff(client, rt, "viewer")
    page = client.get("/staff/partners").get_data(as_text=True)
    assert "<td>2</td>" in page


def test_a_viewer_sees_partners_but_cannot_add_one(rt: Runtime, client: FlaskClient) -> None:
    partners.create_partner(rt, name="Grace Church", actor="test")
    _staff(client, rt, "viewer")
    page = client.get("/staff/partners")
    assert page.status_code == 200
    assert "Grace Church" in page.get_data(as_text=True)
    assert "Add a partner" not in page.get_data(as_text=True)
    refused = post_form(client, "/staff/partners", {"name": "Voz Latina"})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert [p.name for p, _ in partners.list_partners(rt)] == ["Grace Church"]


@pytest.mark.parametrize(
    ("word", "reason"),
    [
        ("STOP", "it stops messages"),
        ("help", "it asks for help"),
        ("MENU", "it asks for the menu"),
        ("ESPAÑOL", "it chooses a language"),
        ("HOLA", "greeting"),
        ("911", "emergency"),
        ("MEETINGS", "meetings"),
    ],
)
def test_a_keyword_the_line_already_acts_on_is_refused(rt: Runtime, word: str, reason: str) -> None:
    with pytest.raises(PartnerError) as refused:
        partners.create_partner(rt, name="Grace Church", keywords=word, actor="test")
    message = str(refused.value)
    assert "already acts on" in message
    assert reason in message
    assert "choose another keyword" in message
    assert partners.list_partners(rt) == []


def test_another_partners_keyword_is_refused_on_the_dashboard_with_the_reason(
    rt: Runtime, client: FlaskClient
) -> None:
    partners.create_partner(rt, name="Voz Latina", keywords={"es": "VOZ"}, actor="test")
    _staff(client, rt)
    refused = post_form(client, "/staff/partners", {"name": "Grace Church", "keyword_es": "voz"})
    assert refused.status_code == 400  # type: ignore[attr-defined]
    page = refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "VOZ is already the keyword of Voz Latina; choose another keyword for es." in page
    assert 'value="Grace Church"' in page  # the form keeps what was typed
    for word, why in [
        ("", "Give one"),
        ("GRACE CHURCH", "no spaces"),
        ("A" * 21, "longer"),
        ("VOZ!", "letters and digits"),
    ]:
        with pytest.raises(PartnerError, match=why.lower() if why != "Give one" else "empty"):
            partners.create_partner(rt, name="Grace Church", keywords={"en": word}, actor="t")


def test_a_keyword_from_the_name_skips_words_the_line_uses_and_codes_stay_unique(
    rt: Runtime,
) -> None:
    first = partners.create_partner(rt, name="The Vietnamese Community Association", actor="t")
    assert set(first.keywords.values()) == {"COMMUNITY"}  # VIETNAMESE chooses a language
    assert first.code == "the-vietnamese-community"  # 32 at most, whole words
    again = partners.create_partner(rt, name="The Vietnamese Community Association", actor="t")
    assert again.code == "the-vietnamese-community-2"
    assert set(again.keywords.values()) == {"ASSOCIATION"}  # COMMUNITY is taken
    accented = partners.create_partner(rt, name="Asociación de Vecinos", actor="t")
    assert accented.code == "asociacion-de-vecinos"
    assert set(accented.keywords.values()) == {"ASOCIACION"}


def test_staff_change_a_partners_keyword_and_archiving_frees_it(rt: Runtime) -> None:
    grace = partners.create_partner(rt, name="Grace Church", actor="test")
    assert grace.id is not None
    changed = partners.update_partner(
        rt, grace.id, keywords={"es": "GRACIA"}, public_consent=True, actor="test"
    )
    assert changed.keywords["es"] == "GRACIA"
    assert changed.keywords["en"] == "GRACE"
    assert changed.public_consent
    with pytest.raises(PartnerError, match="fr is not a language"):
        partners.update_partner(rt, grace.id, languages=["fr"], actor="test")
    partners.archive_partner(rt, grace.id, actor="test")
    assert partners.list_partners(rt) == []
    reused = partners.create_partner(rt, name="Grace Chapel", keywords="GRACE", actor="test")
    assert reused.code == "grace-chapel"


def test_the_sms_qr_code_decodes_to_the_spanish_keyword_link(
    rt: Runtime, client: FlaskClient
) -> None:
    grace = partners.create_partner(rt, name="Grace Church", keywords={"es": "VOZ"}, actor="t")
    _staff(client, rt, "viewer")
    png = client.get(f"/staff/partners/{grace.id}/qr.png?lang=es&channel=sms")
    assert png.status_code == 200
    assert png.content_type == "image/png"
    assert _decode(png.data) == f"sms:{NUMBER}?body=VOZ"

    telegram = client.get(f"/staff/partners/{grace.id}/qr.png?lang=es&channel=telegram")
    assert _decode(telegram.data) == f"https://t.me/{BOT}?start=partner-grace-church"

    svg = client.get(f"/staff/partners/{grace.id}/qr.svg?lang=es&channel=sms")
    assert svg.status_code == 200
    assert svg.content_type == "image/svg+xml"
    assert ET.fromstring(svg.data).tag == "{http://www.w3.org/2000/svg}svg"

    assert client.get(f"/staff/partners/{grace.id}/qr.png?lang=fr").status_code == 404
    assert client.get(f"/staff/partners/{grace.id}/qr.gif?lang=es").status_code == 404


def test_without_an_sms_number_there_is_no_sms_code_and_the_page_says_so(
    rt: Runtime, settings: Settings
) -> None:
    bare = build_runtime(settings.with_overrides(sms_number=None, telegram_bot_username=None))
    try:
        client = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, runtime=bare)
        web = client.test_client()
        grace = partners.create_partner(bare, name="Grace Church", actor="t")
        _staff(web, bare, "viewer")
        assert web.get(f"/staff/partners/{grace.id}/qr.png?lang=es").status_code == 404
        page = web.get(f"/staff/partners/{grace.id}").get_data(as_text=True)
        assert "No SMS number is set" in page
        assert "No Telegram bot username is set" in page
    finally:
        bare.db.dispose()


def test_the_spanish_flyer_names_the_partner_the_keyword_and_911(
    rt: Runtime, client: FlaskClient
) -> None:
    grace = partners.create_partner(
        rt, name="Grace Church", languages=["en", "es"], keywords={"es": "VOZ"}, actor="t"
    )
    _staff(client, rt, "viewer")
    flyer = client.get(f"/staff/partners/{grace.id}/flyer?lang=es")
    assert flyer.status_code == 200
    page = flyer.get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in page
    assert f"Envíe VOZ por mensaje de texto al {NUMBER}" in page
    assert "llame al 911" in page
    assert "Grace Church" in page
    assert "Springfield Police" in page
    assert "qr.svg?lang=es&amp;channel=sms" in page
    # Not one of its languages: no flyer to print.
    assert client.get(f"/staff/partners/{grace.id}/flyer?lang=vi").status_code == 404


def test_the_arabic_flyer_reads_right_to_left(settings: Settings) -> None:
    arabic = build_runtime(settings.with_overrides(languages=("en", "ar")))
    try:
        web = create_app({"TESTING": True}, runtime=arabic).test_client()
        grace = partners.create_partner(arabic, name="Grace Church", actor="t")
        _staff(web, arabic, "viewer")
        page = web.get(f"/staff/partners/{grace.id}/flyer?lang=ar").get_data(as_text=True)
        assert '<html lang="ar" dir="rtl">' in page
        assert "اتصل بـ 911" in page
        assert "GRACE" in page
    finally:
        arabic.db.dispose()


def test_staff_add_a_partner_and_print_its_code_from_the_command_line(
    rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "DATABASE_URL": rt.settings.database_url,
        "TOWNLINE_LANGUAGES": ",".join(rt.settings.languages),
        "TOWNLINE_INSTANCE": str(tmp_path / "instance"),
        "TOWNLINE_SMS_NUMBER": NUMBER,
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    made = runner.invoke(
        main,
        [
            *("partner", "create", "--name", "Grace Church", "--language", "es"),
            *("--neighbourhood", "Riverside", "--keyword", "es=Voz", "--public"),
        ],
    )
    assert made.exit_code == 0, made.output
    assert "code grace-church" in made.output
    assert "es: VOZ" in made.output
    assert "en: GRACE" in made.output

    clash = runner.invoke(main, ["partner", "create", "--name", "Help Desk", "--keyword", "HELP"])
    assert clash.exit_code == 1
    assert "HELP is a word the line already acts on" in clash.output

    listed = runner.invoke(main, ["partner", "list"])
    assert "grace-church" in listed.output
    assert "es=VOZ" in listed.output

    out = tmp_path / "grace-es.png"
    qr = runner.invoke(
        main, ["partner", "qr", "grace-church", "--language", "es", "--output", str(out)]
    )
    assert qr.exit_code == 0, qr.output
    assert _decode(out.read_bytes()) == f"sms:{NUMBER}?body=VOZ"
    telegram = runner.invoke(
        main,
        [
            *("partner", "qr", "grace-church", "--language", "es", "--channel", "telegram"),
            *("--output", str(tmp_path / "t.svg")),
        ],
    )
    assert telegram.exit_code == 1
    assert "TELEGRAM_BOT_USERNAME is not set" in telegram.output
    [grace] = [p for p, _ in partners.list_partners(rt)]
    assert grace.languages == ["es"]
    assert grace.neighbourhoods == ["Riverside"]
    assert grace.public_consent


def test_only_the_partner_links_service_draws_qr_codes() -> None:
    users = [
        path.relative_to(ROOT).as_posix()
        for package in ("bot", "channels", "flows", "storage")
        for path in (ROOT / package).rglob("*.py")
        if "import segno" in path.read_text(encoding="utf-8")
    ]
    assert users == ["bot/services/partner_links.py"]
