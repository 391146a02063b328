"""A resident scans a partner's Telegram QR code: the chat opens with /start partner-<code>."""

from __future__ import annotations

from bot.runtime import Runtime
from storage import conversations, partners
from storage.db import transaction
from tests.telegram_kit import TelegramResident


def test_the_partner_s_link_opens_a_chat_that_names_it(rt: Runtime, ana: TelegramResident) -> None:
    with transaction(rt.db) as session:
        grace = partners.add(
            session, name="Grace Church", code="grace-church", keywords={"en": "GRACE"}
        )
    [greeting] = ana.say("/start partner-grace-church")
    assert "through Grace Church" in greeting
    assert "911" in greeting
    [_menu] = ana.say("The crossing by the school has no guard in the mornings")
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "telegram", str(ana.chat_id))
        assert contact is not None
        responses = [r for r, c in conversations.list_responses(session) if c.id == contact.id]
    assert contact.partner_id == grace.id
    assert [r.partner_id for r in responses] == [grace.id]


def test_a_retired_partner_s_link_still_opens_the_line(rt: Runtime, ana: TelegramResident) -> None:
    [greeting] = ana.say("/start partner-no-such-partner")
    assert "Grace" not in greeting
    assert "911" in greeting  # the ordinary welcome, not "this link has expired"
