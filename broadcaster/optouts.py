"""Who asked to stop receiving campaigns, and how: opt-out detection without I/O.

A person opts out through any channel they use, and each opt-out keeps its `OptOutSource`:

- `keyword`: a typed reply whose whole text is a stop keyword (`BROADCASTER_OPT_OUT_KEYWORDS`,
  and those alone: an operator who sets them decides what typed text opts out);
- `button`: a tap on a quick-reply or interactive button whose payload or label is an
  opt-out (`BROADCASTER_OPT_OUT_BUTTONS`, or a keyword): Meta offers a "Stop promotions"
  quick reply for marketing templates, and translates that label into the template's
  language;
- `user_preferences`: Meta's `user_preferences` webhook with `value: stop` (the person used
  WhatsApp's own "Offers and announcements" setting); `value: resume` lifts it;
- `failed_131050`: a send failed with Meta's 131050, "user has stopped marketing messages"
  from this business: the same setting, seen from the failed send.

Operators add numbers too (`manual`, `import`); a resume never lifts those.

Phrases are compared whole, after `normalize_phrase`: case-, accent- and punctuation-
insensitive ("STOP_PROMOTIONS", " Stop promotions! " and "stop promotions" are one phrase).
Whole-phrase matching keeps ordinary sentences ("stop dekat mana?") from opting anyone out.
"""

import enum
import functools
import re
import unicodedata
from collections.abc import Collection, Iterable

__all__ = [
    "DEFAULT_OPT_OUT_BUTTONS",
    "LIFTED_BY_RESUME",
    "OPTED_OUT_CODE",
    "OptOutSource",
    "is_opt_out",
    "normalize_phrase",
    "opt_out_phrases",
]


class OptOutSource(enum.StrEnum):
    """How a number came onto the suppression list.

    The first four are the person's own opt-outs, read from webhooks; `manual` and `import`
    are an operator's (the API, CLI or page; a CSV of numbers), `legacy` a number listed
    before sources were kept.
    """

    KEYWORD = "keyword"
    BUTTON = "button"
    USER_PREFERENCES = "user_preferences"
    FAILED_131050 = "failed_131050"
    MANUAL = "manual"
    IMPORT = "import"
    LEGACY = "legacy"
    #: Listed when the number was erased (`broadcaster forget`); kept as a keyed hash.
    ERASED = "erased"


#: Meta's error code for a send to someone who stopped this business's marketing messages.
OPTED_OUT_CODE = 131050

#: Opt-outs a `user_preferences` resume lifts: those Meta's setting made. A person who wrote
#: STOP or tapped an opt-out button asked the business itself; only they can undo that.
LIFTED_BY_RESUME = frozenset({OptOutSource.USER_PREFERENCES, OptOutSource.FAILED_131050})

#: Button labels and payloads that opt out, in English and Indonesian. Meta's own marketing
#: opt-out quick reply reads "Stop promotions" (localised with the template); the rest are
#: what businesses put on their own buttons: "stop", "unsubscribe", "berhenti" (stop),
#: "berhenti berlangganan" (unsubscribe), "jangan kirim lagi" (don't send again). Payloads
#: are matched too, so `STOP_PROMOTIONS` or `unsubscribe` as a button id count.
DEFAULT_OPT_OUT_BUTTONS = (
    "Stop promotions",
    "Stop promotion",
    "Stop",
    "Unsubscribe",
    "Opt out",
    "Stop promosi",
    "Berhenti",
    "Berhenti promosi",
    "Hentikan promosi",
    "Berhenti berlangganan",
    "Jangan kirim lagi",
    "Jangan kirim promosi",
    "Tidak mau promosi",
)

_SEPARATORS = re.compile(r"[\W_]+")


def normalize_phrase(phrase: str) -> str:
    """Fold a phrase for comparison: `" Berhénti_PROMOSI! "` -> `"berhenti promosi"`.

    Unicode NFKD, combining marks dropped, case folded, every run of punctuation, symbols
    or spaces made one space, then stripped.
    """
    decomposed = unicodedata.normalize("NFKD", phrase)
    if not decomposed.isascii():
        decomposed = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", decomposed.casefold()).strip()


def opt_out_phrases(*lists: Iterable[str]) -> frozenset[str]:
    """The normalised phrases of one or more lists (settings give lists; this caches)."""
    return _phrases(tuple(phrase for phrases in lists for phrase in phrases))


@functools.lru_cache(maxsize=32)
def _phrases(phrases: tuple[str, ...]) -> frozenset[str]:
    return frozenset(filter(None, map(normalize_phrase, phrases)))


def is_opt_out(values: Iterable[str | None], phrases: Collection[str]) -> bool:
    """Whether any of `values` (a text, a button payload...) is one of `phrases` whole."""
    return any(value and normalize_phrase(value) in phrases for value in values)
