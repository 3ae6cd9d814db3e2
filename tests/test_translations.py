"""The catalogues: every page string of the code has a translation in every language,
with the same placeholders, and the compiled catalogue is the one its .po file says.

`make messages` extracts, updates and compiles; these tests fail until someone has."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from idp.core.i18n import LOCALES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "idp" / "translations"
LANGUAGES = [code for code in LOCALES if code != "en"]  # English is the source


def extracted() -> set[str | tuple[str, str]]:
    """Every message the code marks (as `make messages` extracts it)."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found = set()
    for package in ("idp", "wallet"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map, options_map, keywords=keywords
        ):
            found.add(message if isinstance(message, str) else tuple(message[:2]))
    return found


def catalogue(code: str):
    with open(TRANSLATIONS / code / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=code)


def test_there_is_a_second_language():
    assert LANGUAGES, "English and at least one more language (issue 17)"


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_page_string_is_translated(code):
    translated = {}
    for message in catalogue(code):
        if not message.id or message.fuzzy:
            continue
        key = message.id if isinstance(message.id, str) else tuple(message.id[:2])
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            translated[key] = strings

    missing = sorted(map(str, extracted() - set(translated)))

    assert not missing, f"{len(missing)} untranslated in {code} (make messages): {missing[:5]}"


@pytest.mark.parametrize("code", LANGUAGES)
def test_translations_keep_their_placeholders(code):
    problems = [
        (message.id, [str(error) for error in errors])
        for message, errors in catalogue(code).check()
        if errors
    ]

    assert not problems


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_compiled_catalogue_is_the_po_file(code):
    def pairs(messages):
        return {
            tuple(m.id) if isinstance(m.id, list | tuple) else m.id: (
                tuple(m.string) if isinstance(m.string, list | tuple) else m.string
            )
            for m in messages
            if m.id and not m.fuzzy
        }

    with open(TRANSLATIONS / code / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = pairs(read_mo(mo))
    written = pairs(catalogue(code))

    assert compiled == written, "run `make messages` (pybabel compile)"
