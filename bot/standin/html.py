"""Telegram's HTML parse mode and message-text rules, re-implemented for the Bot API stand-in.

The parser follows tdlib's ``parse_html`` (``td/telegram/MessageEntity.cpp``) closely, because the
point of the stand-in is to reject exactly what Telegram rejects: a card that renders fine in a
browser but has a stray ``<`` in a citizen's text fails in production with
``can't parse entities: Unsupported start tag ... at byte offset N``. Error texts and the byte
offsets in them are the ones tdlib produces, so a log line from the stand-in reads like one from
Telegram.

One deliberate difference, switchable with ``strict_entities``: tdlib silently keeps an ``&`` that
does not start one of ``&lt; &gt; &amp; &quot;`` or a numeric reference (``AT&T`` arrives as
``AT&T``; ``&nbsp;`` arrives literally), and it even accepts those references without the final
``;``. The stand-in rejects both by default, because an unescaped ``&`` means the text was not run
through an HTML escaper, and the same unescaped text will fail on Telegram as soon as it contains a
``<``. Pass ``strict_entities=False`` for tdlib's lenient behaviour.

Offsets and lengths of entities are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = [
    "SUPPORTED_TAGS",
    "EntityParseError",
    "find_auto_entities",
    "finish_text",
    "parse_html",
    "sort_entities",
    "utf16_len",
]

#: Tag names Telegram accepts in HTML parse mode (``span`` only with ``class="tg-spoiler"``).
SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)

# tdlib's is_space(): note that NUL counts as a space, which is how the C code sees the end of the
# string; ``_at`` below returns "\0" past the end to keep the same control flow.
_SPACE = frozenset(" \t\r\n\v\0")

# Entity type priorities from tdlib's MessageEntity::get_type_priority, used for ordering entities
# that start at the same offset with the same length (Telegram returns them in this order).
_PRIORITY = {
    "mention": 50, "hashtag": 50, "bot_command": 50, "url": 50, "email": 50, "cashtag": 50,
    "phone_number": 50, "bold": 90, "italic": 91, "code": 20, "pre": 11, "text_link": 49,
    "text_mention": 49, "underline": 92, "strikethrough": 93, "blockquote": 0,
    "expandable_blockquote": 0, "spoiler": 94, "custom_emoji": 99,
}


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(exc)`` is tdlib's own wording."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of every Telegram length limit."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort as tdlib does: by offset, then longer first, then by type priority."""
    entities.sort(key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)))
    return entities


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, pos: int, strict: bool) -> tuple[str | None, int]:
    """Decode the character reference at ``text[pos] == '&'``.

    Returns ``(character, next_index)`` or ``(None, pos)`` when there is no valid reference.
    Mirrors tdlib's ``decode_html_entity``; in strict mode the closing ``;`` is required.
    """
    n = len(text)
    end = pos + 1
    code = 0
    if end < n and text[end] == "#":
        end += 1
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and text[end].isascii() and text[end].isdigit():
                code = code * 10 + int(text[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name)
        if named is None:
            return None, pos
        code = ord(named)
    if end < n and text[end] == ";":
        end += 1
    elif strict:
        return None, pos
    return chr(code), end


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into ``(visible_text, entities)`` or raise :class:`EntityParseError`.

    The visible text is *not* yet trimmed and has no auto-detected entities; see
    :func:`finish_text` for the steps the Bot API applies afterwards.
    """
    n = len(text)

    def at(i: int) -> str:
        return text[i] if i < n else "\0"

    out: list[str] = []
    u16 = 0
    # Stack of open tags: (tag_name, argument, utf16_offset, index into out)
    stack: list[tuple[str, str, int, int]] = []
    entities: list[dict[str, Any]] = []
    surrogate_from_entity = False
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded, end = _decode_entity(text, i, strict_entities)
            if decoded is not None:
                if 0xD800 <= ord(decoded) <= 0xDFFF:
                    surrogate_from_entity = True
                out.append(decoded)
                u16 += 2 if ord(decoded) > 0xFFFF else 1
                i = end
                continue
            if strict_entities:
                m = re.match(r"&#?[0-9A-Za-z]*;?", text[i:])
                shown = m.group(0) if m else "&"
                raise EntityParseError(
                    f'Unsupported HTML entity "{shown}" at byte offset {_byte_offset(text, i)}'
                    " (write & as &amp;; Telegram itself would keep it literally)"
                )
        if c != "<":
            out.append(c)
            u16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # A start tag.
            while at(i) not in _SPACE and at(i) != ">":
                i += 1
            if i >= n or text[i] == "\0":
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag_name = text[begin + 1 : i].lower()
            if tag_name not in SUPPORTED_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag_name}" at byte offset {_byte_offset(text, begin)}'
                )
            argument = ""
            while at(i) != ">":
                while at(i) != "\0" and at(i) in _SPACE:
                    i += 1
                if at(i) == ">":
                    break
                attr_begin = i
                while at(i) not in _SPACE and at(i) not in "=>":
                    i += 1
                attr_name = text[attr_begin:i]
                if not attr_name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag_name}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while at(i) != "\0" and at(i) in _SPACE:
                    i += 1
                if at(i) != "=":
                    if tag_name == "blockquote" and attr_name.lower() == "expandable":
                        argument = "expandable"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag_name}" at byte offset {_byte_offset(text, begin)}'
                    )
                i += 1
                while at(i) != "\0" and at(i) in _SPACE:
                    i += 1
                if i >= n or text[i] == "\0":
                    raise EntityParseError(
                        f'Unclosed start tag "{tag_name}" at byte offset {_byte_offset(text, begin)}'
                    )
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACE and at(i) != ">":
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded, end = _decode_entity(text, i, False)
                            if decoded is not None:
                                chars.append(decoded)
                                i = end
                                continue
                        chars.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(chars)
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                attr = attr_name.lower()
                if tag_name == "a" and attr_name == "href":
                    argument = value
                elif tag_name == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag_name == "span" and attr_name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag_name == "tg-emoji" and attr_name == "emoji-id":
                    argument = value
                elif tag_name == "blockquote" and attr == "expandable":
                    argument = "expandable"
            if tag_name == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
                )
            stack.append((tag_name, argument, u16, len(out)))
            i += 1  # skip '>'
            continue

        # An end tag.
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        while at(i) not in _SPACE and at(i) != ">":
            i += 1
        end_tag_name = text[begin + 2 : i].lower()
        while at(i) != "\0" and at(i) in _SPACE:
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        tag_name, argument, start_u16, start_out = stack[-1]
        if end_tag_name and end_tag_name != tag_name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag_name}>", found "</{end_tag_name}>"'
            )
        i += 1  # skip '>'
        stack.pop()
        if u16 <= start_u16:
            continue  # empty entities are dropped, as tdlib does
        length = u16 - start_u16
        entity: dict[str, Any] | None
        if tag_name in ("i", "em"):
            entity = {"type": "italic"}
        elif tag_name in ("b", "strong"):
            entity = {"type": "bold"}
        elif tag_name in ("s", "strike", "del"):
            entity = {"type": "strikethrough"}
        elif tag_name in ("u", "ins"):
            entity = {"type": "underline"}
        elif tag_name in ("tg-spoiler", "span"):
            entity = {"type": "spoiler"}
        elif tag_name == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            entity = {"type": "custom_emoji", "custom_emoji_id": argument}
        elif tag_name == "a":
            url = argument or "".join(out[start_out:])
            entity = _link_entity(url)
        elif tag_name == "pre":
            last = entities[-1] if entities else None
            if (
                last is not None and last["type"] == "code" and last.get("language")
                and last["offset"] == start_u16 and last["length"] == length
            ):
                last["type"] = "pre"
                entity = None
            else:
                entity = {"type": "pre"}
        elif tag_name == "code":
            last = entities[-1] if entities else None
            if (
                last is not None and last["type"] == "pre" and argument
                and last["offset"] == start_u16 and last["length"] == length
            ):
                last["language"] = argument
                entity = None
            else:
                entity = {"type": "code"}
                if argument:
                    entity["language"] = argument  # dropped below unless a <pre> claims it
        elif tag_name == "blockquote":
            entity = {"type": "expandable_blockquote" if argument else "blockquote"}
        else:  # pragma: no cover - SUPPORTED_TAGS is exhaustive
            raise AssertionError(tag_name)
        if entity is not None:
            entity["offset"] = start_u16
            entity["length"] = length
            entities.append(entity)

    if stack:
        raise EntityParseError(f"Can't find end tag corresponding to start tag {stack[-1][0]}")
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    result = "".join(out)
    if surrogate_from_entity:
        try:
            result.encode("utf-8")
        except UnicodeEncodeError:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, check for "
                "unmatched surrogate code units"
            ) from None
    return result, sort_entities(entities)


_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _link_entity(url: str) -> dict[str, Any] | None:
    """``<a href>`` -> text_link / text_mention, or nothing for a link Telegram would drop."""
    url = url.strip()
    m = re.fullmatch(r"tg://user\?id=(\d+)", url)
    if m:
        return {"type": "text_mention", "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""}}
    if not url or any(ch.isspace() for ch in url):
        return None
    if not _SCHEME_RE.match(url):
        if "." not in url:
            return None  # tdlib's get_checked_link rejects it; the entity silently disappears
        url = "http://" + url
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("http", "https", "tg", "ton", "tonsite", "mailto"):
        return None
    if scheme in ("http", "https") and url.count("/") == 2:
        url += "/"  # Telegram normalises "https://example.com" to "https://example.com/"
    return {"type": "text_link", "url": url}


# --- auto-detected entities -------------------------------------------------------------------


def _is_word(ch: str) -> bool:
    """tdlib's is_word_character: Unicode letters and numbers, and underscore."""
    if ch == "_":
        return True
    return unicodedata.category(ch)[0] in ("L", "N")


def _is_hashtag_letter(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return ch in "_\u200c\u00b7" or "\u0d80" <= ch <= "\u0dff" or cat[0] == "L" or cat == "Nd"


_ALNUM_ = re.compile(r"[A-Za-z0-9_]*")
_URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)


def _spans_to_u16(text: str) -> list[int]:
    """Prefix table: utf16 offset of each str index (length len(text)+1)."""
    table = [0] * (len(text) + 1)
    acc = 0
    for idx, ch in enumerate(text):
        table[idx] = acc
        acc += 2 if ord(ch) > 0xFFFF else 1
    table[len(text)] = acc
    return table


def find_auto_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram detects by itself in every message: mentions, hashtags, bot commands, URLs.

    Implements tdlib's ``match_mentions``, ``match_hashtags`` and ``match_bot_commands``; URL
    detection is simplified to ``http(s)://...`` (tdlib also recognises bare domains with a known
    top-level domain, which the stand-in does not).
    """
    u16 = _spans_to_u16(text)
    found: list[tuple[int, int, str]] = []
    n = len(text)
    for idx, ch in enumerate(text):
        prev = text[idx - 1] if idx else ""
        if ch == "@":
            if prev and _is_word(prev):
                continue
            end = idx + 1 + len(_ALNUM_.match(text, idx + 1).group(0))
            size = end - idx - 1
            if size < 4 or size > 32 or (end < n and _is_word(text[end])):
                continue
            found.append((idx, end, "mention"))
        elif ch == "/":
            if prev and (_is_word(prev) or prev in "/<>"):
                continue
            end = idx + 1 + len(_ALNUM_.match(text, idx + 1).group(0))
            size = end - idx - 1
            if size < 1 or size > 64:
                continue
            if end < n and text[end] == "@":
                uend = end + 1 + len(_ALNUM_.match(text, end + 1).group(0))
                if not 3 <= uend - end - 1 <= 32:
                    continue
                end = uend
            if end < n and (_is_word(text[end]) or text[end] in "/<>"):
                continue
            found.append((idx, end, "bot_command"))
        elif ch == "#":
            if prev and _is_hashtag_letter(prev):
                continue
            end = idx + 1
            was_letter = False
            while end < n and _is_hashtag_letter(text[end]):
                was_letter |= unicodedata.category(text[end])[0] == "L"
                end += 1
            if end == idx + 1 or (end < n and text[end] == "#") or not was_letter:
                continue
            found.append((idx, min(end, idx + 257), "hashtag"))
    for m in _URL_RE.finditer(text):
        start, end = m.span()
        if start and _is_word(text[start - 1]):
            continue
        while end > start and text[end - 1] in ".,;:!?'\")]}":
            end -= 1
        if end - start > 8:
            found.append((start, end, "url"))
    result = [
        {"type": kind, "offset": u16[s], "length": u16[e] - u16[s]} for s, e, kind in found
    ]
    return result


# --- the Bot API's post-processing ------------------------------------------------------------

_TRIM = " \t\n\r\v\f"
_ATOMIC = ("code", "pre", "text_link", "text_mention", "custom_emoji", "url", "mention",
           "hashtag", "bot_command", "email")


def finish_text(text: str, entities: list[dict[str, Any]], *, autodetect: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Apply what the Bot API does after parsing: trim, clip entities, drop nested ones, detect.

    * Leading and trailing whitespace is removed (Telegram returns ``"hi"`` for ``"\\n hi \\n"``)
      and entity offsets are shifted and clipped accordingly; entities left empty disappear.
    * ``code`` and ``pre`` cannot contain other entities; those inside are dropped.
    * URLs, @mentions, #hashtags and /commands are detected outside code/pre/links.
    """
    stripped_left = len(text) - len(text.lstrip(_TRIM))
    new_text = text.strip(_TRIM)
    shift = utf16_len(text[:stripped_left])
    total = utf16_len(new_text)
    fixed: list[dict[str, Any]] = []
    for ent in entities:
        start = max(ent["offset"] - shift, 0)
        end = min(ent["offset"] + ent["length"] - shift, total)
        if end <= start:
            continue
        e = dict(ent)
        e["offset"], e["length"] = start, end - start
        fixed.append(e)
    sort_entities(fixed)
    code_spans = [(e["offset"], e["offset"] + e["length"]) for e in fixed if e["type"] in ("code", "pre")]
    kept: list[dict[str, Any]] = []
    for e in fixed:
        s, t = e["offset"], e["offset"] + e["length"]
        inside = any(cs <= s and t <= ce and (cs, ce) != (s, t) for cs, ce in code_spans)
        if inside and e["type"] not in ("blockquote", "expandable_blockquote"):
            continue
        kept.append(e)
    if autodetect:
        blocked = [(e["offset"], e["offset"] + e["length"]) for e in kept if e["type"] in _ATOMIC]
        for auto in find_auto_entities(new_text):
            s, t = auto["offset"], auto["offset"] + auto["length"]
            if any(s < be and bs < t for bs, be in blocked):
                continue
            kept.append(auto)
    sort_entities(kept)
    # Bot API order of keys: type, offset, length, then the type's extra fields.
    ordered = [
        {"type": e["type"], "offset": e["offset"], "length": e["length"],
         **{k: v for k, v in e.items() if k not in ("type", "offset", "length")}}
        for e in kept
    ]
    return new_text, ordered
