#!/usr/bin/env python3
"""Writes the differential phone-number corpus (issue 11): numbers of every region, non-geographic
entity and number type of libphonenumber's metadata, written in the forms real address books hold,
each labelled by libphonenumber itself (the Python port, `phonenumbers`, pinned to the release Kith's
tables come from) reading that exact written form under that default region.

    scripts/phone-metadata.sh          # regenerates the tables, then this corpus

One JSON object per line: `region` (the default region the text is read under), `form` (which written
form), `input` (the text), `e164` (libphonenumber's E.164, or null when it calls the text invalid or
cannot parse it) and `type` (libphonenumber's number type of a valid number). The numbers are
libphonenumber's own example numbers and neighbours of them, so no person's number is in the corpus.
Deterministic: the same release and seed write the same file.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "Tests/KithCoreTests/Fixtures/phone-corpus.jsonl"
SEED = 11

TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]
TYPE_NAMES = {value: name for name, value in vars(PhoneNumberType).items() if isinstance(value, int) and name.isupper()}

# Dial-out prefixes tried against each region's international-prefix pattern.
IDD_CANDIDATES = ["00", "011", "001", "002", "005", "006", "007", "0011", "0030", "010", "009", "810", "119",
                  "1795100", "1795000", "1793100", "1252000", "0060", "00414", "012", "013", "014", "990"]
DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\uff0d"]
# The spaces libphonenumber itself takes (Kith takes every Unicode space; the others are its own, tested apart).
SPACES = [" ", "\u00a0", "\u3000"]
LABELS = ["Tel: ", "tel. ", "Mobile: ", "Phone ", "电话：", "手机 ", "Fax: "]
EXTENSIONS = [" ext. 1234", " x123", " ext 56", "#789", " extn. 42"]
INVISIBLE_ENDS = [("\u202a", "\u202c"), ("\u200e", ""), ("\u2066", "\u2069"), ("\ufeff", ""), ("\u200b", "\u200b")]


def fullwidth(text: str) -> str:
    out = []
    for ch in text:
        if ch.isdigit() and ch.isascii():
            out.append(chr(0xFF10 + int(ch)))
        elif ch == "+":
            out.append("\uff0b")
        elif ch == " ":
            out.append("\u3000")
        elif ch == "-":
            out.append("\uff0d")
        elif ch == "(":
            out.append("\uff08")
        elif ch == ")":
            out.append("\uff09")
        else:
            out.append(ch)
    return "".join(out)


def label(text: str, region: str) -> tuple[str | None, str | None]:
    """libphonenumber's reading of `text` under `region`: (E.164, type) when valid, else (None, None)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_valid_number(number):
        return None, None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), TYPE_NAMES[phonenumbers.number_type(number)]


def neighbours(number: phonenumbers.PhoneNumber, rng: random.Random, count: int) -> list[phonenumbers.PhoneNumber]:
    """Numbers that differ from `number` in its last one to three digits (valid or not: the label decides)."""
    national = str(number.national_number)
    out = []
    for _ in range(count):
        changed = rng.randint(1, min(3, len(national) - 1))
        digits = national[:-changed] + "".join(rng.choice("0123456789") for _ in range(changed))
        candidate = phonenumbers.PhoneNumber(country_code=number.country_code, national_number=int(digits),
                                             italian_leading_zero=number.italian_leading_zero,
                                             number_of_leading_zeros=number.number_of_leading_zeros)
        out.append(candidate)
    return out


def broken(number: phonenumbers.PhoneNumber, rng: random.Random) -> list[str]:
    """E.164-like texts that are (mostly) not numbers: a digit short, a digit long, another leading digit."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    cc = str(number.country_code)
    nsn = e164[1 + len(cc):]
    lead = rng.choice([d for d in "0123456789" if d != nsn[0]])
    return ["+" + cc + nsn[:-1], "+" + cc + nsn + rng.choice("0123456789"), "+" + cc + lead + nsn[1:],
            "+" + cc + nsn[:-2]]


def idd_prefixes(region: str) -> list[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.international_prefix is None:
        return []
    pattern = re.compile(metadata.international_prefix)
    return [c for c in IDD_CANDIDATES if pattern.fullmatch(c)]


def national_prefix(region: str) -> str | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata.national_prefix if metadata is not None else None


def written_forms(number: phonenumbers.PhoneNumber, home: str | None, regions: list[str], idd: dict[str, list[str]],
                  rng: random.Random) -> list[tuple[str, str, str]]:
    """(form, default region, text) for one number; `home` is its region (None for a non-geographic one)."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    cc = str(number.country_code)
    nsn = e164[1 + len(cc):]
    anywhere = lambda: rng.choice(regions)  # noqa: E731
    forms = [
        ("e164", anywhere(), e164),
        ("international", anywhere(), international),
        ("rfc3966", anywhere(), phonenumbers.format_number(number, PhoneNumberFormat.RFC3966)),
        ("fullwidth", anywhere(), fullwidth(international)),
        ("dashes", anywhere(), international.replace(" ", rng.choice(DASHES))),
        ("spaces", anywhere(), international.replace(" ", rng.choice(SPACES))),
        ("crlf", anywhere(), rng.choice([e164, international]) + "\r\n"),
        ("label", anywhere(), rng.choice(LABELS) + international),
        ("extension", anywhere(), international + rng.choice(EXTENSIONS)),
        ("invisible", anywhere(), (lambda ends: ends[0] + international + ends[1])(rng.choice(INVISIBLE_ENDS))),
        ("rfc3966-extension", anywhere(), phonenumbers.format_number(number, PhoneNumberFormat.RFC3966) + ";ext=12"),
    ]
    if home is not None:
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        forms.append(("national", home, national))
        forms.append(("national-fullwidth", home, fullwidth(national)))
        forms.append(("national-digits", home, phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
                      .translate({ord(c): None for c in " -()"})))
        if national_prefix(home) == "0":
            forms.append(("zero-after-country-code", anywhere(), f"+{cc} (0){nsn[:3]} {nsn[3:]}"))
        if home == "CN":
            forms.append(("cn-ip-prefix", "CN", "17951 " + nsn))
            forms.append(("cn-ip-international", "CN", f"17951 00 {cc} {nsn}"))
    dialling = [r for r in regions if idd[r]]
    caller = rng.choice(dialling)
    forms.append(("idd", caller, f"{rng.choice(idd[caller])} {cc} {nsn[:4]} {nsn[4:]}"))
    if home is not None and "US" in regions:
        forms.append(("idd-us", "US", f"011 {cc} {nsn}"))
    return forms


def main() -> None:
    pinned = re.search(r'^PINNED = "(.*)"$', (REPO / "scripts/phone-metadata.py").read_text(), re.M)
    if pinned is None or phonenumbers.__version__ != pinned.group(1):
        sys.exit(f"phone-corpus: want the release of Kith's tables (scripts/phone-metadata.py), have {phonenumbers.__version__}")
    rng = random.Random(SEED)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    idd = {r: idd_prefixes(r) for r in regions}
    numbers: list[tuple[phonenumbers.PhoneNumber, str | None]] = []
    for region in regions:
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            numbers.append((example, region))
            numbers.extend((n, region) for n in neighbours(example, rng, 1))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            numbers.append((example, None))
            numbers.extend((n, None) for n in neighbours(example, rng, 4))

    lines: list[str] = []
    seen: set[tuple[str, str]] = set()

    def add(form: str, region: str, text: str) -> None:
        if (region, text) in seen:
            return
        seen.add((region, text))
        e164, kind = label(text, region)
        lines.append(json.dumps({"region": region, "form": form, "input": text, "e164": e164, "type": kind},
                                ensure_ascii=False))

    for number, home in numbers:
        forms = written_forms(number, home, regions, idd, rng)
        # Every number in its plain forms; a sample of the decorated ones keeps the corpus a reviewable size.
        plain = [f for f in forms if f[0] in ("e164", "national", "international")]
        decorated = [f for f in forms if f not in plain]
        for form in plain + rng.sample(decorated, min(3, len(decorated))):
            add(*form)
        for text in broken(number, rng)[: rng.randint(1, 2)]:
            add("broken", rng.choice(regions) if home is None else home, text)

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    valid = sum(1 for line in lines if '"e164": null' not in line)
    print(f"phone-corpus: {len(lines)} lines ({valid} valid, {len(lines) - valid} invalid) -> {OUTPUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
