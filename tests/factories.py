from broadcaster.campaigns import Campaign, new_campaign_id
from broadcaster.contacts import Contact


def campaign(**fields) -> Campaign:
    values = {
        "id": new_campaign_id(),
        "name": "test",
        "channel": "waba",
        "sender": "waba-1",
        "text": "Halo {name}",
    }
    values.update(fields)
    return Campaign(**values)


def contacts(n: int, *, start: int = 0) -> list[Contact]:
    """n distinct Indonesian mobiles; the 4-digit suffixes avoid the sandbox's scripted ones."""
    return [
        Contact(line=i + 2, phone=phone(start + i), variables={"name": f"N{start + i}"})
        for i in range(n)
    ]


def phone(i: int, *, suffix: int | None = None) -> str:
    """The i-th test number; the last four digits are >= 5000 unless a scripted suffix is given."""
    if suffix is not None:
        return f"6281{i % 100000:05d}{suffix:04d}"
    return f"6281{i // 4000 % 100000:05d}{5000 + i % 4000:04d}"
