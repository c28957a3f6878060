"""The message templates every sandbox device and WABA number has, approved."""

import re
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["TEMPLATES", "Template", "find_template"]

_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


@dataclass(frozen=True, slots=True)
class Template:
    """One approved template, as Replai lists it."""

    id: str
    name: str
    category: str
    body: str
    language: str = "id"
    status: str = "APPROVED"

    @property
    def param_count(self) -> int:
        """How many `{{n}}` placeholders the body has."""
        return len(set(_PLACEHOLDER.findall(self.body)))

    def render(self, params: list[str]) -> str:
        """The body with `{{n}}` replaced by `params[n-1]`."""
        return _PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], self.body)

    def to_json(self) -> dict[str, Any]:
        """The template object of the contract."""
        data = asdict(self)
        data["param_count"] = self.param_count
        return data


TEMPLATES: tuple[Template, ...] = (
    Template("tpl_promo", "promo", "MARKETING", "Halo {{1}}, promo {{2}} khusus untuk Anda!"),
    Template("tpl_welcome", "welcome", "UTILITY", "Selamat datang, {{1}}!"),
    Template("tpl_otp", "otp", "AUTHENTICATION", "Kode OTP Anda: {{1}}. Jangan bagikan."),
    Template("tpl_reminder", "reminder", "UTILITY", "Pengingat: jadwal Anda besok."),
)

_BY_KEY = {t.id: t for t in TEMPLATES} | {t.name: t for t in TEMPLATES}


def find_template(key: str, language: str | None = None) -> Template | None:
    """The template with this id or name (and language, when given), or None."""
    template = _BY_KEY.get(key)
    if template is None or (language and language != template.language):
        return None
    return template
