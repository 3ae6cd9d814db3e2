"""Reading hosted pages as a person (or a screen reader) does: text, alerts, elements."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


@dataclass
class Page:
    text: str = ""
    alerts: list[str] = field(default_factory=list)
    elements: list[tuple[str, dict]] = field(default_factory=list)

    def all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.elements if name == tag]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.words: list[str] = []
        self.open: list[int | None] = []  # per open element: index of the alert it starts
        self.alerts: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        self.page.elements.append((tag, attrs))
        if tag in _VOID:
            return
        if attrs.get("role") == "alert":
            self.alerts.append([])
            self.open.append(len(self.alerts) - 1)
        else:
            self.open.append(None)

    def handle_endtag(self, tag):
        if tag not in _VOID and self.open:
            self.open.pop()

    def handle_data(self, data):
        self.words.append(data)
        for index in {i for i in self.open if i is not None}:
            self.alerts[index].append(data)


def _squash(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


def read(html: bytes | str) -> Page:
    reader = _Reader()
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    reader.close()
    reader.page.text = _squash(reader.words)
    reader.page.alerts = [_squash(words) for words in reader.alerts]
    return reader.page


def alerts(response) -> list[str]:
    return read(response.data).alerts


def text(response) -> str:
    return read(response.data).text
