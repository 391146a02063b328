"""A resident who comes in through a partner organisation: its keyword, or its Telegram link.

Trust is often transferable: someone who would not write to the police may write because
their church or tenants' union put the number on a flyer. The greeting names the partner,
so they know they reached the right place, and their words carry it for staff and partner.
"""

from __future__ import annotations

from bot.community import PAYLOAD_PREFIX, keyword_key, payload_code
from bot.engine.context import LISTENING, Context, Turn
from bot.engine.languages import choose
from bot.events import ArrivedThrough, PartnerView, SetLanguage

__all__ = ["PAYLOAD_PREFIX", "arrived", "by_keyword", "by_payload"]
MAX_KEYWORD = 40  # longer than any keyword: a sentence is never read as one


def by_keyword(ctx: Context) -> tuple[PartnerView, frozenset[str]] | None:
    """The partner whose keyword is the whole message, and the languages that keyword is in.

    Only outside a conversation (or before its first words): mid-conversation, "Grace" may
    be the answer to "where is this happening?" and must stay the resident's answer.
    """
    if ctx.active and not (ctx.stage == LISTENING and not ctx.state.get("has_opening")):
        return None
    key = keyword_key(ctx.text)
    if not key or len(key) > MAX_KEYWORD or " " in key:  # keywords are single words
        return None
    for partner in ctx.world.partners:
        said_in = frozenset(
            lang for lang, word in partner.keywords.items() if keyword_key(word) == key
        )
        if said_in:
            return partner, said_in
    return None


def by_payload(ctx: Context, payload: str) -> PartnerView | None:
    """The partner a Telegram /start payload ("partner-<code>") names, if it is active."""
    code = payload_code(payload)
    return next((p for p in ctx.world.partners if p.code == code), None) if code else None


def arrived(ctx: Context, partner: PartnerView, said_in: frozenset[str] = frozenset()) -> Turn:
    """Greet the resident naming the partner, in the keyword's language, and listen."""
    keyword_language = next(iter(said_in)) if len(said_in) == 1 else None
    if keyword_language in ctx.catalog.languages and not ctx.contact.language:
        # "VOZ" from a Spanish flyer: a new resident is answered in Spanish. A language the
        # resident already has is kept, as for any other text (the house's language rule).
        ctx.lang = keyword_language  # type: ignore[assignment]
        ctx.events.append(SetLanguage(ctx.lang, "keyword"))
    else:
        choose(ctx, allow_detection=False)
    ctx.events.append(ArrivedThrough(partner.id))
    ctx.new_conversation(ctx.opening_stage())
    ctx.say("partner_welcome", partner=partner.name)
    return ctx.finish(touch=True)
