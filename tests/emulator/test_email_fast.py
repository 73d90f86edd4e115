"""The fast paths of the email and phone checks against the libraries they stand for: the
email check (plain ASCII addresses, the domain checked once) answers as email-validator, verdict
and message; the region of a phone number as phonenumbers."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.emulator.schema import email_problem


def full_check(text: str) -> str | None:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


LOCAL = st.text(alphabet="abcXYZ09_+-.!#'\"\\ @é", min_size=0, max_size=70)
LABEL = st.text(alphabet="abcXYZ09-_é", min_size=0, max_size=65) | st.sampled_from(
    [
        "xn--",
        "xn--bcher-kva",
        "ab--cd",
        "-a",
        "a-",
        "123",
        "test",
        "localhost",
        "invalid",
        "local",
        "onion",
        "arpa",
    ]
)
DOMAIN = st.lists(LABEL, min_size=1, max_size=5).map(".".join) | st.sampled_from(
    ["example.com", "EXAMPLE.COM", "example.com.", ".example.com", "exa..mple.com", "[127.0.0.1]", "com"]
)


@settings(max_examples=1500, deadline=None)
@given(LOCAL, DOMAIN)
def test_email_problem_answers_as_email_validator(local: str, domain: str) -> None:
    for text in (f"{local}@{domain}", f"{local}@{domain}@x.com", local):
        assert email_problem(text) == full_check(text), text


def test_email_problem_on_known_addresses() -> None:
    long_local = "a" * 64
    for text in (
        "ada.lovelace@example.com",
        "Ada_Lovelace+tag@Sub.Example.co.uk",
        f"{long_local}@example.com",
        f"{long_local}a@example.com",
        "a@" + ".".join(["b" * 63] * 4) + ".com",
        "a@" + "b" * 64 + ".com",
        "a@example.123",
        "a@test",
        "a@x.test",
        "a@localhost",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a@-example.com",
        "a@example-.com",
        "a@xn--example.com",
        "a@exa_mple.com",
    ):
        assert email_problem(text) == full_check(text), text


def test_region_code_for_number_answers_as_phonenumbers() -> None:
    import random

    import phonenumbers
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    from gcx.emulator.phones import region_code_for_number

    rnd = random.Random(12)
    codes = sorted(COUNTRY_CODE_TO_REGION_CODE)
    checked = 0
    for i in range(20000):
        code = rnd.choice(codes) if i % 2 else rnd.choice([1, 7, 44, 39, 47, 61, 212, 262, 590, 599])
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(4, 13)))
        try:
            number = phonenumbers.parse(f"+{code}{digits}", None)
        except phonenumbers.NumberParseException:
            continue
        checked += 1
        assert region_code_for_number(number) == phonenumbers.region_code_for_number(number), (code, digits)
    for text in (
        "+1 617 555 0100",
        "+1 200 000 0200",
        "+1 204 555 0100",
        "+44 20 7946 0000",
        "+7 700 000 0000",
    ):
        number = phonenumbers.parse(text, None)
        assert region_code_for_number(number) == phonenumbers.region_code_for_number(number), text
    assert checked > 15000


def test_region_steps_answer_as_phonenumbers_for_every_north_american_area_code() -> None:
    """+1's leading-digits patterns run as alternations: every area code (and +7, +44, +599's
    leading digits) still gets phonenumbers' region."""
    import phonenumbers

    from gcx.emulator.phones import region_code_for_number

    texts = [f"+1{area:03d}{rest}" for area in range(1000) for rest in ("5550100", "2345678", "0012345")]
    texts += [f"+{code}{lead}{'3' * 9}" for code in (7, 44, 599, 47, 212) for lead in range(100)]
    for text in texts:
        number = phonenumbers.parse(text, None)
        assert region_code_for_number(number) == phonenumbers.region_code_for_number(number), text
