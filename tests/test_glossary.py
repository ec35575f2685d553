"""The programme's own words (issue 19): both catalogues hold to the glossary,
``docs/glossary.md``, the one home of the terms. For each of its terms, every catalogue
entry whose English text names the term uses the German and the Vietnamese word for it; no
translation uses a word the glossary replaces (an untranslated "Buy Shipping", "POA
erstellen", "wiederhergestellt", "rủi ro"...).

A failure names the entry, its translation and the word expected, so a new entry that
misses the programme's word is found and fixed from the message alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polib
import pytest
from django.conf import settings

GLOSSARY = Path(settings.BASE_DIR) / "docs" / "glossary.md"
LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = {"German": "de", "Vietnamese": "vi"}

CODE = re.compile(r"`([^`]+)`")
# What a translation keeps of its msgid as is (tests/test_translations.py checks it): left out
# before the English text is read for a term.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{\{.*?\}\}|\{\w*\}")


@dataclass(frozen=True)
class Term:
    """One row of the glossary's terms: the English words a msgid may name it by, and the
    words a translation of such a msgid uses, per language."""

    english: tuple[str, ...]
    words: dict[str, tuple[str, ...]]  # language -> any of these

    def named_in(self, msgid: str) -> bool:
        text = PLACEHOLDER.sub(" ", msgid).casefold()
        return any(word.casefold() in text for word in self.english)

    def used_in(self, language: str, translation: str) -> bool:
        text = translation.casefold()
        return any(word.casefold() in text for word in self.words[language])


def _section_rows(markdown: str, heading: str) -> list[list[str]]:
    """The cells of each body row of the table under ``## heading``."""
    section = markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]  # the header and its rule


def glossary_terms() -> list[Term]:
    terms = []
    for english, german, vietnamese, _note in _section_rows(GLOSSARY.read_text(encoding="utf-8"), "Terms"):
        terms.append(
            Term(
                english=tuple(CODE.findall(english)),
                words={"de": tuple(CODE.findall(german)), "vi": tuple(CODE.findall(vietnamese))},
            )
        )
    return terms


def words_not_used() -> dict[str, list[str]]:
    """language -> the words no translation in it uses."""
    refused: dict[str, list[str]] = {language: [] for language in LANGUAGES.values()}
    for language, words, _instead in _section_rows(GLOSSARY.read_text(encoding="utf-8"), "Words not used"):
        refused[LANGUAGES[language]].extend(CODE.findall(words))
    return refused


def translations(language: str) -> list[tuple[str, str]]:
    """(msgid, translation) of every live entry of the catalogue, each plural form apart."""
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    pairs = []
    for entry in catalogue:
        if entry.obsolete or not entry.msgid:
            continue
        if entry.msgid_plural:
            pairs.extend((entry.msgid, text) for _index, text in sorted(entry.msgstr_plural.items()))
        else:
            pairs.append((entry.msgid, entry.msgstr))
    return pairs


def missing_terms(language: str, pairs: list[tuple[str, str]], terms: list[Term]) -> list[str]:
    return [
        f"{msgid!r} -> {text!r}: the glossary's {language} for {' / '.join(term.english)!r} is "
        f"{' or '.join(term.words[language])!r}"
        for msgid, text in pairs
        for term in terms
        if term.named_in(msgid) and not term.used_in(language, text)
    ]


def refused_words(pairs: list[tuple[str, str]], words: list[str]) -> list[str]:
    patterns = {word: re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE) for word in words}
    return [
        f"{msgid!r} -> {text!r}: uses {word!r}, which the glossary replaces (docs/glossary.md, 'Words not used')"
        for msgid, text in pairs
        for word, pattern in patterns.items()
        if pattern.search(text)
    ]


def test_the_glossary_table_is_read_whole():
    terms = glossary_terms()
    assert len(terms) >= 30
    assert all(term.english and term.words["de"] and term.words["vi"] for term in terms)
    buy_shipping = next(term for term in terms if term.english == ("Buy Shipping",))
    assert buy_shipping.words == {"de": ("Versandentgelt kaufen",), "vi": ("Mua dịch vụ vận chuyển",)}
    refused = words_not_used()
    assert "Buy Shipping" in refused["de"] and "Buy Shipping" in refused["vi"] and "wieder aktiv" in refused["de"]


@pytest.mark.parametrize("language", LANGUAGES.values())
def test_every_translation_of_a_glossary_term_uses_the_programme_word(language):
    problems = missing_terms(language, translations(language), glossary_terms())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES.values())
def test_no_translation_uses_a_word_the_glossary_replaces(language):
    problems = refused_words(translations(language), words_not_used()[language])
    assert not problems, "\n".join(problems)


def test_the_checks_name_an_entry_that_misses_the_programme_word():
    terms = glossary_terms()
    missing = missing_terms("de", [("Buy Shipping rate", "Rate für Buy Shipping")], terms)
    assert missing == [
        "'Buy Shipping rate' -> 'Rate für Buy Shipping': the glossary's de for 'Buy Shipping' is "
        "'Versandentgelt kaufen'",
        "'Buy Shipping rate' -> 'Rate für Buy Shipping': the glossary's de for 'Buy Shipping rate' is "
        "'Rate für Versandentgelt kaufen'",
    ]
    # The English is read without its placeholders: a column name inserted is no term.
    assert missing_terms("de", [("the “%(shipped_late)s” column", "die Spalte „%(shipped_late)s“")], terms) == []
    # Any case, anywhere: the label's words cover the phrase's declined form.
    assert missing_terms("de", [("units shipped late", "verspätet versendete Einheiten")], terms) == []
    refused = refused_words(
        [("Prime is back", "Prime ist wieder aktiv"), ("x", "Prime wieder aktiviert")], ["wieder aktiv"]
    )
    assert refused == [
        "'Prime is back' -> 'Prime ist wieder aktiv': uses 'wieder aktiv', which the glossary replaces "
        "(docs/glossary.md, 'Words not used')"
    ]
