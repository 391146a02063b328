"""What every channel provides, and the neutral records that cross the channel boundary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Outcomes a channel reports for one send; the worker maps each to a row status.
SENT = "sent"  # the provider accepted it
RETRY = "retry"  # transient: rate limit, timeout, 5xx: try again later
FAILED = "failed"  # permanent for this message; staff may need to look
OPTED_OUT = "opted_out"  # the provider says the resident opted out (Twilio 21610, Telegram blocked)
UNREACHABLE = "unreachable"  # the address cannot receive (invalid number, landline)


@dataclass(frozen=True)
class Outbound:
    """One outbox row as a channel needs it: who, what, and the choices to show."""

    outbox_id: int
    channel: str
    address: str
    text: str
    choices: Sequence[dict[str, str]] = ()
    language: str | None = None
    kind: str = "reply"
    provider_ref: str | None = None  # what the provider needs to act on (a callback query id)


@dataclass(frozen=True)
class SendResult:
    """What happened when a channel tried to send."""

    outcome: str
    provider_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    flag_staff: bool = False


class Channel(Protocol):
    """A way to reach residents. Webhook routes are declared by each channel's blueprint."""

    name: str
    rate_per_second: float
    # Optional `send_timeout: float`: the longest one send may take. The worker sizes its lease
    # on a row from it, so a killed worker's rows come back soon and are never sent twice.

    def cost(self, message: Outbound) -> int:
        """How many units of the channel's rate this message uses (SMS segments, else 1)."""
        ...

    def send(self, message: Outbound) -> SendResult:
        """Hand one message to the provider; never raises for provider errors."""
        ...


def render_numbered(text: str, choices: Sequence[dict[str, Any]]) -> str:
    """Choices as numbered lines for text-only channels; 1-5 scales need no list."""
    if not choices or all(c["label"] == c["key"] for c in choices):
        return text
    return text + "\n" + "\n".join(f"{c['key']} {c['label']}" for c in choices)
