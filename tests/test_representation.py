"""Stories: staff see who the line hears beside the community's own make-up, small groups hidden.

One seeded town of 31 residents, the community's figures entered the way staff enter them
(the dashboard's form and a CSV upload), and every share in the table worked out by hand.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from bot.runtime import Runtime
from bot.services import community_figures
from storage import audit, broadcasts, conversations, partners
from storage.db import transaction
from tests.dashboard import api_token, log_in, post_form, staff_account
from tests.test_cli import townline

LANGUAGE_CSV = """dimension,value,amount,source
language,en,6000,2020 census
language,es,3000,2020 census
language,vi,600,2020 census
language,zh,400,2020 census
"""
AGE_CSV = """dimension,amount,value
age_band,20%,18-29
age_band,30%,30-44
age_band,30%,45-64
age_band,20%,65+
"""
NEIGHBOURHOODS = {"Northside": "5000", "Southside": "3000", "Riverside": "1500", "Harbor": "500"}

# Who spoke in the last year: (residents, language, neighbourhood as typed, age band, how).
#   language:      en 20, es 6, vi 3, not said 2
#   neighbourhood: Northside 12, Southside 8, Riverside 5, Old Town 5, not said 1
#   age band:      18-29 14, 30-44 9, 45-64 2, 65+ 2, not said 4
COHORTS = [
    (10, "en", "Northside", "18-29", ""),
    (2, "en", " NORTHSIDE ", "30-44", ""),  # trimmed and case-folded: Northside
    (4, "en", "Southside", "18-29", "prompt"),  # these 8 answered the listening prompt
    (4, "en", "Southside", "30-44", "prompt"),
    (3, "es", "Riverside", "30-44", "partner"),  # these 6 came in through Grace Church
    (2, "es", "Riverside", "45-64", "partner"),
    (1, "es", "Old Town", "65+", "partner"),
    (3, "vi", "Old Town", None, ""),
    (1, None, "Old Town", "65+", ""),
    (1, None, None, None, "erased"),  # their words were erased: they still spoke
]


def speak(
    rt: Runtime,
    address: str,
    *,
    channel: str = "sms",
    days_ago: float = 10,
    partner_id: int | None = None,
    prompt_id: int | None = None,
    erased: bool = False,
    **contact: Any,
) -> int:
    """A resident (with what they told the line about themselves) leaves one response."""
    now = rt.now()
    with transaction(rt.db) as session:
        row = conversations.get_or_create_contact(session, channel, address, now)
        assert row.id is not None
        conversations.update_contact(session, row.id, **contact)
        if partner_id is not None:
            partners.arrived_through(session, row.id, partner_id)
        conversations.add_response(
            session,
            contact_id=row.id,
            conversation=f"c-{address}",
            text="" if erased else "The streetlights on my block are out",
            created_at=now - timedelta(days=days_ago),
            partner_id=partner_id,
            prompt_id=prompt_id,
            erased_at=now if erased else None,
        )
        return row.id


def seed_town(rt: Runtime) -> dict[str, int]:
    """The 31 residents above, plus a linked second channel and a voice from too long ago."""
    with transaction(rt.db) as session:
        grace = partners.add(session, name="Grace Church", code="grace", keywords={"en": "GRACE"})
        prompt = broadcasts.add(
            session,
            messages={"en": "What worries you about your street?"},
            send_at=rt.now() - timedelta(days=20),
            status="queued",
            is_prompt=True,
        )
    ids = {"partner": grace.id or 0, "prompt": prompt.id or 0}
    n = 0
    for count, language, place, age, how in COHORTS:
        for _ in range(count):
            n += 1
            speak(
                rt,
                f"+1555010{n:04d}",
                language=language,
                neighbourhood=place,
                age_band=age,
                partner_id=ids["partner"] if how == "partner" else None,
                prompt_id=ids["prompt"] if how == "prompt" else None,
                erased=how == "erased",
            )
    # The first resident also writes on Telegram (linked): still one resident, still English.
    with transaction(rt.db) as session:
        first = conversations.find_contact(session, "sms", "+15550100001")
    assert first is not None
    speak(rt, "90001", channel="telegram", language="vi", resident_id=first.id)
    # Someone who wrote 400 days ago, in Chinese: outside the default year.
    speak(rt, "+15550109999", days_ago=400, language="zh", neighbourhood="Harbor")
    return ids


def enter_figures(client: FlaskClient) -> None:
    """A staff member types the neighbourhoods in and uploads the census CSVs."""
    for place, amount in NEIGHBOURHOODS.items():
        form = {"dimension": "neighbourhood", "value": place, "amount": amount, "source": "City"}
        post_form(client, "/staff/representation/shares", form)
    for name, text in (("languages.csv", LANGUAGE_CSV), ("ages.csv", AGE_CSV)):
        post_form(
            client,
            "/staff/representation/import",
            {"file": (io.BytesIO(text.encode()), name)},
        )


def hidden(value: str, community_share: float) -> dict[str, Any]:
    """A group of 1-4 residents, or one hidden so such a group cannot be worked out."""
    return {
        "value": value,
        "respondents": None,
        "respondents_share": None,
        "community_share": community_share,
        "ratio": None,
        "suppressed": True,
    }


def group(value: str, respondents: int, known: int, community: float | None) -> dict[str, Any]:
    """A shown group: its share of residents heard, of the community, and the ratio."""
    mine = respondents / known
    return {
        "value": value,
        "respondents": respondents,
        "respondents_share": round(mine, 4),
        "community_share": None if community is None else round(community, 4),
        "ratio": None if community is None else round(mine / community, 3),
        "suppressed": False,
    }


def test_the_table_matches_shares_worked_out_by_hand(rt: Runtime, client: FlaskClient) -> None:
    seed_town(rt)
    log_in(client, staff_account(rt, "ana@springfield.gov", "staff"))
    enter_figures(client)

    answer = client.get("/api/v1/representation", headers=api_token(rt, "viewer"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["days"], body["partner"], body["prompt"]) == (365, None, None)
    neighbourhood, language, age = body["dimensions"]

    # Language: 29 residents said which (20 + 6 + 3), 2 did not. Vietnamese has 3: hidden.
    # Cells are then hidden, smallest first, until the hidden ones hold 10 or more together
    # (else the shares give their sum away, and a small sum pins each one down): Spanish (6)
    # makes 9, English (20) makes 29. Nobody wrote in Chinese this year (the one who did was
    # 400 days ago): a zero names nobody, and the community's 4% unheard comes first.
    assert language == {
        "dimension": "language",
        "known": None,  # 29 would give the hidden cells' sum away
        "not_said": None,  # 2: fewer than 5
        "community_total": 10000,
        "sources": ["2020 census"],
        "groups": [
            {**group("zh", 0, 29, 400 / 10000), "ratio": 0.0},
            hidden("en", 6000 / 10000),
            hidden("es", 3000 / 10000),
            hidden("vi", 600 / 10000),
        ],
    }

    # Neighbourhood: 30 said (12 + 8 + 5 + 5), 1 did not. Harbor (5% of the town) unheard;
    # then Northside 12/30 = 40% against 50% (0.8), Southside 8/30 against 30% (0.889),
    # Riverside 5/30 against 15% (1.111); Old Town has no community figure: last.
    assert neighbourhood == {
        "dimension": "neighbourhood",
        "known": 30,
        "not_said": None,
        "community_total": 10000,
        "sources": ["City"],
        "groups": [
            {**group("Harbor", 0, 30, 500 / 10000), "ratio": 0.0},
            group("Northside", 12, 30, 5000 / 10000),
            group("Southside", 8, 30, 3000 / 10000),
            group("Riverside", 5, 30, 1500 / 10000),
            group("Old Town", 5, 30, None),
        ],
    }
    assert [g["ratio"] for g in neighbourhood["groups"]] == [0.0, 0.8, 0.889, 1.111, None]

    # Age band, entered as percentages: 27 said. 45-64 and 65+ have 2 each: hidden, 4 in all,
    # so 30-44 (9) is hidden too, making 13. 18-29: 14/27 = 51.9% against 20% (2.593).
    assert age == {
        "dimension": "age_band",
        "known": None,
        "not_said": None,  # 4
        "community_total": 100,
        "sources": [],
        "groups": [
            group("18-29", 14, 27, 20 / 100),
            hidden("30-44", 30 / 100),
            hidden("45-64", 30 / 100),
            hidden("65+", 20 / 100),
        ],
    }
    assert age["groups"][0]["ratio"] == 2.593

    # A longer window reaches the Chinese speaker: 1 resident, hidden like any small group.
    longer = client.get(
        "/api/v1/representation?dimension=language&days=730", headers=api_token(rt, "viewer")
    ).get_json()
    [table] = longer["dimensions"]
    assert {g["value"]: g["suppressed"] for g in table["groups"]}["zh"] is True


def test_the_dashboard_draws_the_groups_most_under_heard_first(
    rt: Runtime, client: FlaskClient
) -> None:
    seed_town(rt)
    log_in(client, staff_account(rt, "ana@springfield.gov", "staff"))
    enter_figures(client)
    page = client.get("/staff/representation").get_data(as_text=True)

    assert 'href="/staff/representation">Who is heard</a>' in page
    chart = re.search(
        r'<svg class="chart representation" id="representation-language".*?</svg>', page
    )
    assert chart is not None
    assert 'aria-label="Language: residents heard against the community"' in chart.group(0)
    assert "Residents heard" in chart.group(0)
    assert "The community" in chart.group(0)
    section = page[page.index('id="dimension-language"') : page.index('id="dimension-age_band"')]
    rows = re.findall(r"<tr[^>]*>\s*<td>([^<]+)</td>", section)
    assert rows == ["zh", "en", "es", "vi"]
    # Vietnamese (3), and beside it Spanish (6) and English (20), all say the same.
    assert section.count("hidden (small group)") >= 3
    assert "<td>6</td>" not in section
    assert "<td>20</td>" not in section
    places = page[
        page.index('id="dimension-neighbourhood"') : page.index('id="dimension-language"')
    ]
    assert "<td>12</td><td>40.0%</td>" in places  # Northside: 12 of the 30 who said
    assert "<td>3</td>" not in section


def test_partner_and_prompt_narrow_the_table(rt: Runtime, client: FlaskClient) -> None:
    ids = seed_town(rt)
    log_in(client, staff_account(rt, "ana@springfield.gov", "staff"))
    enter_figures(client)
    viewer = api_token(rt, "viewer")

    # Through Grace Church: the 6 Spanish speakers only. 6/6 = 100% against 30%: 3.333; the
    # languages nobody spoke through Grace come first, the largest community first.
    through = client.get(
        f"/api/v1/representation?dimension=language&partner={ids['partner']}", headers=viewer
    ).get_json()
    assert through["partner"] == ids["partner"]
    [language] = through["dimensions"]
    assert [(g["value"], g["respondents"], g["ratio"]) for g in language["groups"]] == [
        ("en", 0, 0.0),
        ("vi", 0, 0.0),
        ("zh", 0, 0.0),
        ("es", 6, round((6 / 6) / (3000 / 10000), 3)),
    ]
    assert language["known"] == 6

    # Answering the prompt: the 8 from Southside, English, 4 aged 18-29 and 4 aged 30-44
    # (both fewer than 5: hidden, two hidden cells need no more).
    answered = client.get(f"/api/v1/representation?prompt={ids['prompt']}", headers=viewer)
    neighbourhood, language, age = answered.get_json()["dimensions"]
    assert [(g["value"], g["respondents"]) for g in neighbourhood["groups"]] == [
        ("Northside", 0),
        ("Riverside", 0),
        ("Harbor", 0),
        ("Southside", 8),
    ]
    assert {g["value"]: g["respondents"] for g in language["groups"]}["en"] == 8
    assert [g["value"] for g in age["groups"] if g["suppressed"]] == ["30-44", "18-29"]

    # The dashboard offers the same filters and narrows the same way.
    page = client.get(f"/staff/representation?partner={ids['partner']}").get_data(as_text=True)
    assert "through Grace Church" in page
    assert "What worries you about your street?" in page  # the prompt filter's choice
    bad = client.get("/staff/representation?partner=999&days=0")
    assert "Days must be one of 30, 90, 365, 730, 3650" in bad.get_data(as_text=True)


def test_a_csv_with_one_bad_row_is_refused_whole(rt: Runtime, client: FlaskClient) -> None:
    log_in(client, staff_account(rt, "ana@springfield.gov", "staff"))
    bad = "dimension,value,amount\nlanguage,en,6000\nlanguage,es,3000\nage_band,40-60,12%\n"
    answer = post_form(
        client, "/staff/representation/import", {"file": (io.BytesIO(bad.encode()), "ages.csv")}
    )
    assert answer.status_code == 302  # type: ignore[attr-defined]
    page = client.get("/staff/representation").get_data(as_text=True)
    assert "Nothing imported: row 4: an age band is one of under-18, 18-29" in page
    assert community_figures.list_shares(rt) == []
    for text, error in (
        ("dimension,value\nlanguage,en\n", "row 1 must be the header"),
        ("dimension,value,amount\nlanguage,en,lots\n", "row 2: amount must be a number"),
        ("dimension,value,amount\nlanguage,English,10\n", "row 2: a language is a language code"),
        ("dimension,value,amount\nneighbourhood,Elm,1\nneighbourhood, elm ,2\n", "row 3:"),
        ("dimension,value,amount\ncity,Elm,1\n", "row 2: dimension must be one of"),
    ):
        post_form(
            client, "/staff/representation/import", {"file": (io.BytesIO(text.encode()), "x.csv")}
        )
        assert error in client.get("/staff/representation").get_data(as_text=True), text
    assert community_figures.list_shares(rt) == []


def test_staff_edit_and_remove_figures_and_each_change_is_audited(
    rt: Runtime, client: FlaskClient
) -> None:
    log_in(client, staff_account(rt, "ana@springfield.gov", "staff"))
    form = {"dimension": "neighbourhood", "value": "Northside ", "amount": "45%", "source": ""}
    post_form(client, "/staff/representation/shares", form)
    # The same place typed differently replaces the figure instead of adding a second one.
    post_form(
        client, "/staff/representation/shares", {**form, "value": "northside", "amount": "50%"}
    )
    [row] = community_figures.list_shares(rt)
    assert (row.value, row.amount) == ("northside", 50.0)
    post_form(
        client,
        f"/staff/representation/shares/{row.id}",
        {"value": "Northside", "amount": "5,000", "source": "2020 census"},
    )
    [row] = community_figures.list_shares(rt)
    assert (row.value, row.amount, row.source) == ("Northside", 5000.0, "2020 census")
    post_form(client, f"/staff/representation/shares/{row.id}/delete", {})
    assert community_figures.list_shares(rt) == []
    with transaction(rt.db) as session:
        entries = audit.recent(session)[::-1]
    assert [(e.action, e.actor) for e in entries if e.target == "community_share"] == [
        ("community_share.add", "ana@springfield.gov"),
        ("community_share.update", "ana@springfield.gov"),
        ("community_share.update", "ana@springfield.gov"),
        ("community_share.delete", "ana@springfield.gov"),
    ]


def test_a_viewer_reads_the_table_but_cannot_change_figures(
    rt: Runtime, client: FlaskClient
) -> None:
    log_in(client, staff_account(rt, "vic@springfield.gov", "viewer"))
    page = client.get("/staff/representation")
    assert page.status_code == 200
    assert 'id="add-share"' not in page.get_data(as_text=True)
    form = {"dimension": "language", "value": "en", "amount": "10"}
    assert post_form(client, "/staff/representation/shares", form).status_code == 403  # type: ignore[attr-defined]
    upload = {"file": (io.BytesIO(LANGUAGE_CSV.encode()), "l.csv")}
    assert post_form(client, "/staff/representation/import", upload).status_code == 403  # type: ignore[attr-defined]
    assert community_figures.list_shares(rt) == []


def test_an_analyst_loads_the_census_from_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    census = tmp_path / "census.csv"
    census.write_text(LANGUAGE_CSV, encoding="utf-8")
    loaded = townline(
        "community", "import", str(census), database_url=database_url, tmp_path=tmp_path
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "imported 4 figures from census.csv" in loaded.stdout
    listing = townline("community", "list", database_url=database_url, tmp_path=tmp_path)
    assert re.search(r"language\s+es\s+3000\s+30\.0% 2020 census", listing.stdout), listing.stdout
    census.write_text("dimension,value,amount\nlanguage,en,1\nlanguage,es,-3\n", encoding="utf-8")
    refused = townline(
        "community", "import", str(census), database_url=database_url, tmp_path=tmp_path
    )
    assert refused.returncode == 1
    assert "nothing imported: row 3: amount must be a number above 0" in refused.stderr


def test_simulated_residents_are_left_out_once_real_residents_can_write(
    rt: Runtime, client: FlaskClient
) -> None:
    for n in range(6):
        speak(rt, f"sim-{n}", channel="simulator", language="en")
    viewer = api_token(rt, "viewer")
    first = client.get("/api/v1/representation?dimension=language", headers=viewer).get_json()
    assert first["dimensions"][0]["known"] == 6  # the simulator is all there is on a laptop
    rt.channels["telegram"] = rt.channels["simulator"]  # a real channel is now configured
    later = client.get("/api/v1/representation?dimension=language", headers=viewer).get_json()
    assert later["dimensions"][0]["known"] == 0


def test_a_place_typed_by_few_is_counted_but_never_named(rt: Runtime, client: FlaskClient) -> None:
    """A neighbourhood is what the resident typed: with no community figure and fewer than
    five residents behind it, it joins one 'other' group instead of showing their words."""
    for n in range(6):
        speak(rt, f"+1555020{n:04d}", neighbourhood="Northside")
    speak(rt, "+15550209001", neighbourhood="12 Elm St apt 4")
    speak(rt, "+15550209002", neighbourhood="behind the laundromat")
    log_in(client, staff_account(rt, "ana@springfield.gov", "staff"))
    post_form(
        client,
        "/staff/representation/shares",
        {"dimension": "neighbourhood", "value": "Northside", "amount": "100"},
    )
    body = client.get(
        "/api/v1/representation?dimension=neighbourhood", headers=api_token(rt, "viewer")
    ).get_json()
    [table] = body["dimensions"]
    values = [g["value"] for g in table["groups"]]
    assert "other (no community figure)" in values
    page = client.get("/staff/representation").get_data(as_text=True)
    for typed in ("12 Elm St apt 4", "behind the laundromat"):
        assert typed not in values
        assert typed not in page
