/* Telegram message entities -> DOM, the way Telegram's clients draw a message.
 *
 * A message is plain text plus entities (type, offset, length) counted in UTF-16 code units, which
 * is exactly how JavaScript strings index, so offsets apply as they are. Everything is built with
 * DOM nodes and textContent: citizen text can never become markup. Links are only made for
 * http(s), tg: and mailto: addresses.
 */
(function (global) {
  "use strict";

  const SAFE_SCHEMES = /^(https?:|tg:|mailto:)/i;

  function safeUrl(url) {
    if (typeof url !== "string") return null;
    const trimmed = url.trim();
    if (SAFE_SCHEMES.test(trimmed)) return trimmed;
    if (/^[a-z0-9.-]+\.[a-z]{2,}(\/|$)/i.test(trimmed)) return "https://" + trimmed;
    return null;
  }

  function link(href, onCommand) {
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    return a;
  }

  function elementFor(entity, text, options) {
    const piece = text.slice(entity.offset, entity.offset + entity.length);
    let el;
    switch (entity.type) {
      case "bold": el = document.createElement("strong"); break;
      case "italic": el = document.createElement("em"); break;
      case "underline": el = document.createElement("u"); break;
      case "strikethrough": el = document.createElement("s"); break;
      case "spoiler":
        el = document.createElement("span");
        el.className = "tg-spoiler";
        el.addEventListener("click", () => el.classList.add("revealed"));
        break;
      case "code": el = document.createElement("code"); break;
      case "pre": {
        el = document.createElement("pre");
        if (entity.language) el.dataset.language = entity.language;
        break;
      }
      case "blockquote":
      case "expandable_blockquote":
        el = document.createElement("blockquote");
        if (entity.type === "expandable_blockquote") el.className = "expandable";
        break;
      case "text_link": {
        const href = safeUrl(entity.url);
        el = href ? link(href) : document.createElement("span");
        break;
      }
      case "url": {
        const href = safeUrl(piece);
        el = href ? link(href) : document.createElement("span");
        break;
      }
      case "email": el = link("mailto:" + piece); break;
      case "phone_number": el = document.createElement("span"); el.className = "tg-phone"; break;
      case "bot_command": {
        el = document.createElement("a");
        el.href = "#";
        el.className = "tg-command";
        el.addEventListener("click", (ev) => {
          ev.preventDefault();
          if (options && options.onCommand) options.onCommand(piece);
        });
        break;
      }
      case "mention":
      case "text_mention":
      case "hashtag":
      case "cashtag":
        el = document.createElement("span");
        el.className = "tg-" + entity.type.replace("_", "-");
        break;
      default:
        el = document.createElement("span");
    }
    el.dataset.entity = entity.type;
    return el;
  }

  /* Entities sorted as Telegram nests them: by start, longer (outer) first. Ones that cross an
   * outer entity's end are cut there and the rest continues after it, so any input nests. */
  function normalise(entities, length) {
    return (entities || [])
      .filter((e) => e && Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0)
      .map((e) => Object.assign({}, e, {
        offset: Math.max(0, e.offset),
        length: Math.min(e.length, length - Math.max(0, e.offset)),
      }))
      .filter((e) => e.length > 0)
      .sort((a, b) => a.offset - b.offset || b.length - a.length);
  }

  function build(parent, text, entities, start, end, options) {
    let pos = start;
    let rest = entities.slice();
    while (rest.length) {
      const e = rest.shift();
      if (e.offset >= end) { rest.unshift(e); break; }
      if (e.offset > pos) parent.appendChild(document.createTextNode(text.slice(pos, e.offset)));
      const eEnd = Math.min(e.offset + e.length, end);
      const inner = [];
      const after = [];
      for (const other of rest) {
        if (other.offset >= eEnd) { after.push(other); continue; }
        const oEnd = other.offset + other.length;
        if (oEnd <= eEnd) inner.push(other);
        else {
          inner.push(Object.assign({}, other, { length: eEnd - other.offset }));
          after.push(Object.assign({}, other, { offset: eEnd, length: oEnd - eEnd }));
        }
      }
      const el = elementFor(e, text, options);
      build(el, text, inner, Math.max(e.offset, pos), eEnd, options);
      parent.appendChild(el);
      pos = eEnd;
      rest = after.sort((a, b) => a.offset - b.offset || b.length - a.length);
    }
    if (pos < end) parent.appendChild(document.createTextNode(text.slice(pos, end)));
  }

  /** Render `text` with `entities` into a new element of class `tg-text`. */
  function renderMessageText(text, entities, options) {
    const root = document.createElement("div");
    root.className = "tg-text";
    const value = typeof text === "string" ? text : "";
    build(root, value, normalise(entities, value.length), 0, value.length, options || {});
    return root;
  }

  global.TelegramEntities = { renderMessageText: renderMessageText, safeUrl: safeUrl };
})(window);
