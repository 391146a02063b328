"""The simulator: a pretend phone in the browser or the terminal, on the same path as SMS."""

from __future__ import annotations

from channels.base import SENT, Outbound, SendResult, render_numbered

NAME = "simulator"


class SimulatorChannel:
    """Delivery is instant: the outbox row itself is what the simulator page and CLI read."""

    name = NAME
    rate_per_second = 1000.0

    def cost(self, message: Outbound) -> int:
        """Free and unlimited, but counted so pacing code runs the same for every channel."""
        return 1

    def send(self, message: Outbound) -> SendResult:
        """Mark it delivered with a provider-style id."""
        return SendResult(SENT, provider_id=f"sim-{message.outbox_id}")

    @staticmethod
    def render(text: str, choices: list[dict[str, str]]) -> str:
        """Shown like SMS (numbered choices), the lowest common denominator."""
        return render_numbered(text, choices)
