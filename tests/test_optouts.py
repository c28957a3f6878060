import pytest

from broadcaster.optouts import (
    DEFAULT_OPT_OUT_BUTTONS,
    LIFTED_BY_RESUME,
    OptOutSource,
    is_opt_out,
    normalize_phrase,
    opt_out_phrases,
)


@pytest.mark.parametrize(
    "raw,folded",
    [
        ("STOP", "stop"),
        ("  Stop   promotions! ", "stop promotions"),
        ("STOP_PROMOTIONS", "stop promotions"),
        ("stop-promosi", "stop promosi"),
        ("Berhénti", "berhenti"),
        ("\uff33\uff34\uff2f\uff30", "stop"),  # fullwidth STOP, folded by NFKD
        ("Parar promoções", "parar promocoes"),
        ("Interrompi promozioni", "interrompi promozioni"),
        ("STOP \N{OCTAGONAL SIGN}", "stop"),
        ("Straße", "strasse"),  # casefold
        ("", ""),
    ],
)
def test_normalize_phrase(raw, folded):
    assert normalize_phrase(raw) == folded


@pytest.mark.parametrize(
    "value,stop",
    [
        ("Stop promotions", True),  # Meta's marketing opt-out quick reply
        ("stop promotions", True),
        ("Berhenti promosi", True),
        ("BERHENTI PROMOSI", True),
        ("Hentikan promosi", True),
        ("Jangan kirim lagi", True),
        ("jangan kirim lagi.", True),
        ("UNSUBSCRIBE", True),
        ("Unsubscribe", True),
        ("Stop", True),
        ("Berhenti berlangganan", True),
        ("Opt-out", True),
        ("Stop promotions please call me", False),
        ("Promo apa?", False),
        ("Cancel", False),
        ("Yes", False),
        ("", False),
        (None, False),
    ],
)
def test_default_opt_out_buttons(value, stop):
    assert is_opt_out([value], opt_out_phrases(DEFAULT_OPT_OUT_BUTTONS)) is stop


def test_any_value_may_match_and_lists_combine():
    phrases = opt_out_phrases(["BATAL"], ["Stop promotions"])
    assert phrases == {"batal", "stop promotions"}
    assert is_opt_out(["Ya", "STOP_PROMOTIONS"], phrases)  # the payload of a tap
    assert not is_opt_out(["Ya", None], phrases)
    assert opt_out_phrases([" ", "!!"]) == frozenset()


def test_a_resume_lifts_only_what_meta_setting_made():
    assert set(LIFTED_BY_RESUME) == {OptOutSource.USER_PREFERENCES, OptOutSource.FAILED_131050}
    assert OptOutSource("failed_131050") is OptOutSource.FAILED_131050


def test_the_settings_read_buttons_as_a_comma_separated_list(monkeypatch):
    from broadcaster.settings import Settings

    assert Settings(_env_file=None).opt_out_buttons == list(DEFAULT_OPT_OUT_BUTTONS)
    monkeypatch.setenv("BROADCASTER_OPT_OUT_BUTTONS", "Stop promotions, Tidak mau ,")
    monkeypatch.setenv("BROADCASTER_META_APP_SECRET", "s3cret")
    settings = Settings(_env_file=None)
    assert settings.opt_out_buttons == ["Stop promotions", "Tidak mau"]
    assert settings.meta_app_secret is not None
    assert settings.meta_app_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
