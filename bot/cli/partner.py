"""`townline partner …`: partner organisations, their keywords and QR codes, from a shell.

The same service as the dashboard's Partners page, audited as "cli", so an agency can set up
partners in a script and print their codes for a flyer without opening a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.cli.common import migrated_runtime
from bot.runtime import Runtime
from bot.services import partner_links, partners
from bot.services.partner_links import CHANNELS, FORMATS
from bot.services.partners import PartnerError

CLI_ACTOR = "cli"


@contextmanager
def _runtime() -> Iterator[Runtime]:
    """A migrated runtime whose refusals become a clear message and exit status 1."""
    rt = migrated_runtime()
    try:
        yield rt
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        rt.db.dispose()


def _keywords(values: tuple[str, ...]) -> dict[str, str] | str | None:
    """`--keyword GRACE` for every language, or `--keyword es=VOZ` for one."""
    if not values:
        return None
    plain = [v for v in values if "=" not in v]
    if plain:
        if len(values) > 1:
            raise click.BadParameter("give one keyword for all, or LANG=WORD pairs", "--keyword")
        return plain[0]
    pairs = (value.split("=", 1) for value in values)
    return {lang.strip(): word for lang, word in pairs}


@click.group("partner")
def partner() -> None:
    """Partner organisations: keywords, links and QR codes."""


@partner.command("create")
@click.option("--name", required=True, help="The organisation's name, e.g. 'Grace Church'.")
@click.option("--contact", default="", help="A person to reach there (staff see it).")
@click.option("--language", "languages", multiple=True, help="A language its members speak.")
@click.option("--neighbourhood", "neighbourhoods", multiple=True, help="A neighbourhood it serves.")
@click.option(
    "--keyword",
    "keywords",
    multiple=True,
    help="GRACE for every language, or es=GRACIA for one (default: a word from the name).",
)
@click.option("--public", is_flag=True, help="It agrees to be named on the public page.")
def partner_create(
    name: str,
    contact: str,
    languages: tuple[str, ...],
    neighbourhoods: tuple[str, ...],
    keywords: tuple[str, ...],
    public: bool,
) -> None:
    """Add a partner; prints its code and its keyword in every language."""
    with _runtime() as rt:
        made = partners.create_partner(
            rt,
            name=name,
            contact=contact,
            languages=languages,
            neighbourhoods=neighbourhoods,
            keywords=_keywords(keywords),
            public_consent=public,
            actor=CLI_ACTOR,
        )
    click.echo(f"created partner {made.name}, code {made.code}")
    for lang, word in made.keywords.items():
        click.echo(f"  {lang}: {word}")


@partner.command("list")
def partner_list() -> None:
    """Every active partner: code, name, keywords and residents who came through it."""
    with _runtime() as rt:
        rows = partners.list_partners(rt)
    click.echo(f"{'CODE':32} {'RESIDENTS':>9} {'NAME':30} KEYWORDS")
    for row, residents in rows:
        words = " ".join(f"{lang}={word}" for lang, word in row.keywords.items())
        click.echo(f"{row.code:32} {residents:>9} {row.name[:30]:30} {words}")


@partner.command("qr")
@click.argument("code")
@click.option("--language", required=True, help="The keyword's language, e.g. es.")
@click.option("--channel", type=click.Choice(CHANNELS), default="sms", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(tuple(FORMATS)), default="png", show_default=True
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def partner_qr(code: str, language: str, channel: str, fmt: str, output: Path) -> None:
    """Write a partner's QR code to a file, to print on a flyer."""
    with _runtime() as rt:
        found = partners.by_code(rt, code)
        if found is None or found.archived_at is not None:
            raise PartnerError(f"there is no active partner with code {code}")
        image = partner_links.partner_qr(rt, found, language, channel, fmt)
        link = getattr(partner_links.way(rt, found, language), channel)
    output.write_bytes(image)
    click.echo(f"wrote {output} ({link})")
