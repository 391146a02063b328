"""A resident on the simulator channel, for `townline chat` and for conversation stories."""

from __future__ import annotations

import uuid

from bot.conversation import receive
from bot.events import Inbound
from bot.runtime import Runtime
from bot.worker import Worker
from channels.simulator import NAME, SimulatorChannel
from storage import conversations, outbox
from storage.db import transaction


class Simulator:
    """Says lines as one resident and returns what the outbox delivered back, rendered as SMS."""

    def __init__(self, rt: Runtime, address: str, language: str | None = None) -> None:
        self.rt = rt
        self.address = address
        self.worker = Worker(rt)
        self.last_seen = 0
        rt.channels.setdefault(NAME, SimulatorChannel())
        if language:
            with transaction(rt.db) as session:
                contact = conversations.get_or_create_contact(session, NAME, address, rt.now())
                assert contact.id is not None
                conversations.update_contact(
                    session, contact.id, language=language, language_source="explicit"
                )

    def say(self, text: str, choice: str | None = None) -> list[str]:
        """One line in; every reply the worker sent for it, in order."""
        inbound = Inbound(
            channel=NAME,
            address=self.address,
            text=text,
            choice=choice,
            provider_id=f"sim-in-{uuid.uuid4().hex}",
            received_at=self.rt.now(),
        )
        receive(self.rt, inbound)
        self.worker.drain()
        return self.replies()

    def replies(self) -> list[str]:
        """Replies delivered since the last call."""
        with transaction(self.rt.db) as session:
            contact = conversations.find_contact(session, NAME, self.address)
            if contact is None or contact.id is None:
                return []
            rows = outbox.outbound_after(session, contact.id, self.last_seen)
        if rows:
            self.last_seen = max(row.id or 0 for row in rows)
        return [SimulatorChannel.render(row.text, row.choices or []) for row in rows]
