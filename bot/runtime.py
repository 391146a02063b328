"""The long-lived parts a process needs, built once: settings, database, flows, channels."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.language import Detector, LangdetectDetector, MarkedDetector
from bot.understanding import Understanding
from flows.catalog import Catalog, load_catalog
from storage.db import make_engine
from storage.models import utcnow

if TYPE_CHECKING:
    from channels.base import Channel


SIMULATOR = "simulator"


@dataclass
class Runtime:
    """Shared by the web app, the worker and the CLI; tests build one per test."""

    settings: Settings
    db: Engine
    catalog: Catalog
    understanding: Understanding
    detector: Detector
    clock: Callable[[], datetime] = utcnow
    channels: dict[str, Channel] = field(default_factory=dict)
    # Set when a webhook has stored a message: an in-process worker answers it at once.
    # (A worker in another process hears of it from PostgreSQL, or looks on SQLite.)
    inbound_stored: threading.Event = field(default_factory=threading.Event)

    def now(self) -> datetime:
        """The current time, from a clock tests can control."""
        return self.clock()

    def hidden_channels(self) -> tuple[str, ...]:
        """Channels left out of staff counts by default: the simulator, once real residents can
        write (SMS or Telegram configured). On a laptop with only the simulator, it is all
        there is to see; in production, staff's test conversations must not skew the picture.
        """
        real = any(name != SIMULATOR for name in self.channels)
        return (SIMULATOR,) if real else ()


def build_runtime(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Runtime:
    """Load and validate everything up front, so a broken flow stops start-up."""
    catalog = load_catalog(settings.languages, settings.flows_dir)
    return Runtime(
        settings=settings,
        db=make_engine(settings.database_url),
        catalog=catalog,
        understanding=Understanding(catalog),
        detector=MarkedDetector(catalog.language_markers, LangdetectDetector(settings.languages)),
        clock=clock,
    )
