"""Plain text out of e-mail bodies: HTML to text, and the customer's new words apart from what they quote."""

from __future__ import annotations

import re
import unicodedata
from contextlib import suppress
from html.parser import HTMLParser

# A line that stands where an HTML quote container began (Gmail's gmail_quote, Outlook's divRplyFwdMsg, …):
# a private-use character, which no mail carries and which is not whitespace.
QUOTE_MARK = "\ue000"

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tr", "ul",
})
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre"})
_SKIP_TAGS = frozenset({"head", "script", "style", "title", "template", "noscript"})
_QUOTE_CLASSES = frozenset({"gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote", "zmail_extra"})
_QUOTE_IDS = frozenset({"divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _HtmlText(HTMLParser):
    """Collects the readable text of an HTML document, line by line, with blockquote depth as ``>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.quote_depth = 0
        self.pre = 0
        self.marked = False
        self.links: list[tuple[str | None, int]] = []

    def _flush(self) -> None:
        text = "".join(self.current)
        if not self.pre:
            text = re.sub(r"[ \t\r\n\f\v\u00a0]+", " ", text).strip()
        prefix = "> " * self.quote_depth
        self.lines.append(prefix + text if text else prefix.rstrip())
        self.current = []

    def _break(self) -> None:
        if self.current:
            self._flush()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element: skip invisible ones, break lines at blocks, count quote depth."""
        if tag in _SKIP_TAGS:
            self.skip += 1
            return
        if self.skip:
            return
        values = {name: (value or "") for name, value in attrs}
        classes = set(values.get("class", "").lower().split())
        if not self.marked and (classes & _QUOTE_CLASSES or values.get("id", "").lower() in _QUOTE_IDS):
            self._break()
            self.lines.append(QUOTE_MARK)
            self.marked = True
        if tag in _BLOCK_TAGS:
            if tag == "br":
                self._flush()
            else:
                self._break()
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "li":
            self.current.append("- ")
        elif tag in ("td", "th") and self.current:
            self.current.append(" ")
        elif tag == "a":
            href = values.get("href", "")
            self.links.append((href if href.startswith(("http://", "https://")) else None, len(self.current)))

    def handle_endtag(self, tag: str) -> None:
        """Close an element, adding a link's address after its words when they differ."""
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "a" and self.links:
            href, start = self.links.pop()
            words = "".join(self.current[start:]).strip()
            if href and href.rstrip("/") != words.rstrip("/"):
                self.current.append(f" <{href}>")
        if tag in _BLOCK_TAGS and tag != "br":
            self._break()
        if tag in _PARAGRAPH_TAGS:
            self.lines.append("> " * self.quote_depth if tag != "blockquote" else "")
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        """Keep visible text."""
        if self.skip:
            return
        if self.pre:
            parts = data.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._flush()
                self.current.append(part)
        else:
            self.current.append(data)

    def text(self) -> str:
        """The collected text, blank runs squeezed."""
        self._break()
        return squeeze_blank_lines("\n".join(self.lines))


def html_to_text(html: str) -> str:
    """Readable text of an HTML body; quoted parts as ``>`` lines, a quote container marked by QUOTE_MARK."""
    parser = _HtmlText()
    with suppress(Exception):  # HTMLParser copes with nearly anything; keep what was read
        parser.feed(html)
        parser.close()
    return parser.text()


def clean(text: str) -> str:
    """NFC-normalised text with Unix line ends and no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROL.sub("", text))


def squeeze_blank_lines(text: str) -> str:
    """At most one blank line in a row, no blank lines at either end, no trailing spaces."""
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# Where the quoted history starts -------------------------------------------------------------------------

_ATTRIBUTION_END = re.compile(r"(wrote|đã viết|viết)\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^(on|vào|lúc)\s", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(r"^-{2,}\s*(original message|thư gốc|tin nhắn gốc)\s*-{2,}$", re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\*?(from|từ)\s*:\*?\s", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\*?(sent|date|đã gửi|ngày gửi|ngày)\s*:\*?\s", re.IGNORECASE)
_HEADER_SUBJECT = re.compile(r"^\*?(subject|chủ đề|tiêu đề)\s*:\*?", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^_{16,}$")
_MOBILE_SIGNATURE = re.compile(
    r"^(sent from my \S+.*|sent from (outlook|mail) for \S+.*|get outlook for \S+.*|"
    r"được gửi từ \S+.*|gửi từ .+ của tôi\.?)$",
    re.IGNORECASE,
)


def _attribution_at(lines: list[str], index: int) -> bool:
    """Whether an "On … wrote:" / "Vào … đã viết:" line (possibly wrapped over three lines) starts here."""
    line = lines[index].strip()
    if not line or line.startswith(">"):
        return False
    if _ATTRIBUTION_START.match(line):
        joined = line
        for extra in range(3):
            if _ATTRIBUTION_END.search(joined) and len(joined) <= 400:
                return True
            if index + extra + 1 >= len(lines):
                break
            joined += " " + lines[index + extra + 1].strip()
        return False
    if _ATTRIBUTION_END.search(line) and len(line) <= 300:
        following = next((later for later in lines[index + 1:] if later.strip()), "")
        return following.startswith(">")
    return False


def _header_block_at(lines: list[str], index: int) -> bool:
    """Whether an Outlook-style "From: … Sent: …" block of the quoted message starts here."""
    if not _HEADER_FROM.match(lines[index].strip()):
        return False
    following = [line.strip() for line in lines[index + 1:index + 6] if line.strip()]
    return any(_HEADER_SENT.match(line) for line in following) and any(_HEADER_SUBJECT.match(line)
                                                                       for line in following)


def split_reply(text: str) -> str:
    """The new words of a reply: text before the quoted history and the signature, ``>`` lines left out.

    Returns ``text`` itself when nothing clear marks a quote, or when stripping would leave nothing.
    """
    lines = text.split("\n")
    cut = len(lines)
    for index, raw in enumerate(lines):
        line = raw.strip()
        if raw == QUOTE_MARK or raw in ("-- ", "--") or _ORIGINAL_MESSAGE.match(line):
            cut = index
            break
        if _UNDERSCORES.match(line) and any(_HEADER_FROM.match(later.strip()) for later in lines[index + 1:index + 3]):
            cut = index
            break
        if _attribution_at(lines, index) or _header_block_at(lines, index):
            cut = index
            break
    kept = [line for line in lines[:cut] if not line.startswith(">")]
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _MOBILE_SIGNATURE.match(kept[-1].strip()):
        kept.pop()
    reply = squeeze_blank_lines("\n".join(kept))
    return reply if reply.strip() else without_marks(text)


def without_marks(text: str) -> str:
    """``text`` without the quote-container marks ``html_to_text`` leaves."""
    return squeeze_blank_lines("\n".join(line for line in text.split("\n") if line != QUOTE_MARK))
