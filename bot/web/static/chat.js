/* The sandbox web chat: the stand-in's chats drawn like a Telegram client, live over SSE.
 * Plain JavaScript, no build step. Every text from the server is put in with textContent. */
(function () {
  "use strict";

  const boot = JSON.parse(document.getElementById("boot").textContent);
  const S = boot.strings;
  const LOCALE = boot.lang === "zh" ? "zh-CN" : "en-GB";
  const TZ = boot.timezone;
  const $ = (id) => document.getElementById(id);
  const PALETTE = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774", "#3390ec"];

  const state = {
    loaded: false,
    pending: [],
    bot: null,
    chats: new Map(),      // id -> chat {id, title, kind, messages: Map}
    order: [],
    people: [],
    narrations: [],
    persona: null,
    active: null,
    unread: new Map(),
    replyTo: null,
    clock: null,
    topic: new Map(),      // forum chat id -> the topic open in it (0: General; absent: the topic list)
  };

  function t(key, params) {
    let s = S[key] || key;
    if (params) for (const [k, v] of Object.entries(params)) s = s.split("{" + k + "}").join(String(v));
    return s;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  const timeFmt = new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const dayFmt = new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, month: "long", day: "numeric", weekday: "long" });
  const shortDayFmt = new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, month: "2-digit", day: "2-digit" });
  const clockFmt = new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, month: "2-digit", day: "2-digit",
    weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const clockShortFmt = new Intl.DateTimeFormat(LOCALE, { timeZone: TZ, weekday: "short", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23" });
  const narrow = window.matchMedia("(max-width: 760px)");
  const dayKey = (secs) => shortDayFmt.format(new Date(secs * 1000));

  function colorFor(id) { return PALETTE[Math.abs(Number(id) || 0) % PALETTE.length]; }

  function avatar(name, id, extra) {
    const a = el("div", "avatar" + (extra ? " " + extra : ""));
    a.style.background = colorFor(id);
    a.textContent = Array.from(name || "?")[0];
    return a;
  }

  // ------------------------------------------------------------------ people and chats

  function person(id) { return state.people.find((p) => p.id === id) || null; }

  function personLabel(p) {
    if (!p.in_roster) return p.name + " · " + t("role_none");
    const where = p.region === "*" ? t("all_regions") : (p.region_name || p.region);
    return p.name + " · " + where + " · " + t("role_" + p.role);
  }

  function chatVisible(chat) {
    return chat.kind !== "private" || chat.id === state.persona;
  }

  function chatSubtitle(chat) {
    if (chat.kind === "region" || chat.kind === "unit") return chat.region_name + " · " + t("members_region");
    if (chat.kind === "desk") return t("members_desk");
    if (chat.kind === "leaders") return t("members_leaders");
    if (chat.kind === "private") return t("members_private");
    return "";
  }

  function chatTitle(chat) {
    if (chat.kind === "private") return (state.bot && state.bot.first_name) || "liuyan";
    return chat.title || String(chat.id);
  }

  function storeChat(raw) {
    const old = state.chats.get(raw.id);
    const chat = Object.assign({}, raw, { messages: new Map() });
    for (const m of raw.messages || []) chat.messages.set(m.message_id, m);
    if (old && !raw.messages) chat.messages = old.messages;
    state.chats.set(raw.id, chat);
  }

  // ------------------------------------------------------------------ loading and live updates

  async function loadState() {
    state.loaded = false;
    const resp = await fetch("/api/sandbox/state", { cache: "no-store" });
    const data = await resp.json();
    state.bot = data.bot;
    state.people = data.people;
    state.chats = new Map();
    for (const chat of data.chats) storeChat(chat);
    state.order = data.chats.map((c) => c.id);
    state.narrations = data.narrations || [];
    if (data.clock) setClock(data.clock);
    if (state.persona === null || !person(state.persona)) {
      const saved = Number(localStorage.getItem("liuyan.persona"));
      state.persona = person(saved) ? saved : (state.people[0] ? state.people[0].id : null);
    }
    state.loaded = true;
    const pending = state.pending;
    state.pending = [];
    for (const ev of pending) apply(ev, true);
    fillPersonas();
    if (state.active === null || !state.chats.has(state.active) || !chatVisible(state.chats.get(state.active))) {
      const saved = Number(localStorage.getItem("liuyan.chat"));
      const first = state.order.find((id) => chatVisible(state.chats.get(id)));
      state.active = state.chats.has(saved) && chatVisible(state.chats.get(saved)) ? saved : first;
    }
    renderList();
    renderChat();
    renderNarration();
  }

  function connect() {
    const source = new EventSource("/api/sandbox/events");
    const dot = $("live-dot");
    source.onmessage = (msg) => {
      let ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      if (ev.type === "hello") {
        dot.classList.add("on");
        loadState().catch(() => dot.classList.remove("on"));
        return;
      }
      if (!state.loaded) { state.pending.push(ev); return; }
      apply(ev, false);
    };
    source.onerror = () => { dot.classList.remove("on"); state.loaded = false; };
  }

  function apply(ev, quiet) {
    if (ev.type === "message" || ev.type === "edit" || ev.type === "delete") {
      upsert(ev.message, ev.type, quiet);
    } else if (ev.type === "chats") {
      loadState();
    } else if (ev.type === "clock") {
      setClock(ev.clock);
    } else if (ev.type === "narration") {
      state.narrations.push(ev.narration);
      renderNarration(true);
    }
  }

  function upsert(message, type, quiet) {
    let chat = state.chats.get(message.chat_id);
    if (!chat) { loadState(); return; }
    const old = chat.messages.get(message.message_id);
    if (old && (old.edit_count || 0) > (message.edit_count || 0)) return; // a stale copy
    if (type === "delete" || message.deleted) {
      chat.messages.delete(message.message_id);
    } else {
      chat.messages.set(message.message_id, message);
    }
    const isNew = !old && type === "message";
    if (isNew && !quiet && !(chat.id === state.active && isChatShown()) && chatVisible(chat)) {
      state.unread.set(chat.id, (state.unread.get(chat.id) || 0) + 1);
    }
    renderList();
    if (chat.id === state.active) {
      const box = $("messages");
      const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 160;
      const node = box.querySelector('[data-message-id="' + message.message_id + '"]');
      if (type === "delete" || message.deleted) {
        if (node) node.remove();
      } else if (node) {
        const fresh = renderMessage(chat, message);
        node.replaceWith(fresh);
        if (type === "edit") { fresh.classList.add("flash"); setTimeout(() => fresh.classList.remove("flash"), 1500); }
      } else {
        renderChat();
      }
      if (nearBottom || isNew && message.from && message.from.id === state.persona) box.scrollTop = box.scrollHeight;
    }
  }

  // ------------------------------------------------------------------ the chat list

  function lastMessage(chat) {
    let last = null;
    for (const m of chat.messages.values()) last = m;
    return last;
  }

  function preview(m) {
    if (!m) return "";
    let text = (m.text || "").split("\n").find((line) => line.trim()) || "";
    if (m.file) text = "📎 " + (m.file.file_name || t("file")) + (text ? " · " + text : "");
    const who = m.from && m.from.is_bot ? "" : (m.from && m.from.id === state.persona ? t("you") : (m.from && m.from.name)) + ": ";
    return who + text;
  }

  function renderList() {
    const list = $("chat-list");
    list.replaceChildren();
    for (const id of state.order) {
      const chat = state.chats.get(id);
      if (!chat || !chatVisible(chat)) continue;
      const li = el("li", "chat-item" + (id === state.active ? " active" : ""));
      li.dataset.chatId = id;
      li.dataset.kind = chat.kind;
      li.setAttribute("role", "button");
      li.tabIndex = 0;
      li.appendChild(avatar(chatTitle(chat), id));
      const body = el("div", "chat-item-body");
      const top = el("div", "chat-item-top");
      top.appendChild(el("span", "chat-item-title", (chat.kind === "private" ? "🤖 " : "") + chatTitle(chat)));
      const last = lastMessage(chat);
      top.appendChild(el("span", "chat-item-time", last ? timeFmt.format(new Date(last.date * 1000)) : ""));
      body.appendChild(top);
      const bottom = el("div", "chat-item-bottom");
      bottom.appendChild(el("span", "chat-item-preview", preview(last) || chatSubtitle(chat)));
      const n = state.unread.get(id) || 0;
      if (n) bottom.appendChild(el("span", "badge", String(n)));
      body.appendChild(bottom);
      li.appendChild(body);
      li.addEventListener("click", () => openChat(id));
      li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openChat(id); });
      list.appendChild(li);
    }
  }

  function isChatShown() { return !window.matchMedia("(max-width: 760px)").matches || document.body.classList.contains("show-chat"); }

  function openChat(id) {
    state.active = id;
    state.unread.delete(id);
    localStorage.setItem("liuyan.chat", String(id));
    setReply(null);
    document.body.classList.add("show-chat");
    renderList();
    renderChat();
    $("input").focus({ preventScroll: true });
  }

  // ------------------------------------------------------------------ one chat

  // ------------------------------------------------------------------ forum topics

  function isForum(chat) { return !!(chat && chat.is_forum); }

  function openTopic(chat) { return isForum(chat) ? state.topic.get(chat.id) : undefined; }

  function inTopic(m, thread) {
    return thread === 0 ? !m.message_thread_id : m.message_thread_id === thread;
  }

  /* A forum group opens on its list of topics, as Telegram's clients show it: General first, then
   * each topic with its name, a lock when closed, and its last message. */
  function renderTopics(chat, box) {
    const list = el("ul", "topic-list");
    list.dataset.testid = "topic-list";
    const entries = [{ id: 0, name: t("general"), closed: false }].concat(
      (chat.topics || []).filter((tp) => !tp.deleted).slice().reverse()
        .map((tp) => ({ id: tp.message_thread_id, name: tp.name, closed: tp.closed })));
    for (const entry of entries) {
      const li = el("li", "topic-item" + (entry.closed ? " closed" : ""));
      li.dataset.testid = "topic";
      li.dataset.thread = entry.id;
      li.setAttribute("role", "button");
      li.tabIndex = 0;
      li.appendChild(el("span", "topic-icon", entry.id === 0 ? "#" : (entry.closed ? "🔒" : "💬")));
      const body = el("div", "topic-body");
      body.appendChild(el("div", "topic-name", entry.name));
      let last = null;
      for (const m of chat.messages.values()) if (m.kind !== "service" && inTopic(m, entry.id)) last = m;
      body.appendChild(el("div", "topic-preview", preview(last)));
      li.appendChild(body);
      const go = () => { state.topic.set(chat.id, entry.id); setReply(null); renderChat(); };
      li.addEventListener("click", go);
      li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") go(); });
      list.appendChild(li);
    }
    box.appendChild(list);
  }

  function topicName(chat, thread) {
    if (thread === 0) return t("general");
    const tp = (chat.topics || []).find((x) => x.message_thread_id === thread);
    return tp ? tp.name : "";
  }

  function renderChat() {
    const chat = state.chats.get(state.active);
    const box = $("messages");
    box.replaceChildren();
    $("composer").hidden = isForum(chat) && openTopic(chat) === undefined;
    const head = $("chat-avatar");
    if (!chat) {
      $("chat-title").textContent = t("pick_chat");
      $("chat-sub").textContent = "";
      head.replaceWith(Object.assign(el("div", "avatar"), { id: "chat-avatar" }));
      return;
    }
    const fresh = avatar(chatTitle(chat), chat.id);
    fresh.id = "chat-avatar";
    head.replaceWith(fresh);
    $("chat-title").textContent = chatTitle(chat);
    $("chat-sub").textContent = chatSubtitle(chat);
    const thread = openTopic(chat);
    if (isForum(chat)) {
      if (thread === undefined) {
        $("chat-sub").textContent = t("topics_label") + " · " + chatSubtitle(chat);
        renderTopics(chat, box);
        return;
      }
      const sub = $("chat-sub");
      sub.replaceChildren();
      const up = el("button", "topic-back", "‹ " + t("topics_label"));
      up.type = "button";
      up.dataset.testid = "topics-back";
      up.addEventListener("click", () => { state.topic.delete(chat.id); setReply(null); renderChat(); });
      sub.appendChild(up);
      sub.appendChild(el("span", "topic-current", " " + topicName(chat, thread)));
    }
    let day = null;
    let prev = null;
    const messages = Array.from(chat.messages.values()).filter(
      (m) => thread === undefined || (inTopic(m, thread) && !(m.kind === "service" && m.message_id === thread)));
    if (!messages.length) box.appendChild(el("div", "empty", t("no_messages")));
    for (const m of messages) {
      const key = dayKey(m.date);
      if (key !== day) {
        day = key;
        const sep = el("div", "day-sep");
        sep.appendChild(el("span", null, dayFmt.format(new Date(m.date * 1000))));
        box.appendChild(sep);
        prev = null;
      }
      const node = renderMessage(chat, m, prev);
      box.appendChild(node);
      prev = m;
    }
    box.scrollTop = box.scrollHeight;
  }

  function renderMessage(chat, m, prev) {
    if (m.kind === "service") {
      const row = el("div", "service-row");
      row.dataset.messageId = m.message_id;
      row.appendChild(el("span", "service", m.text || (m.service && m.service.type) || ""));
      return row;
    }
    const mine = m.from && m.from.id === state.persona;
    const row = el("div", "msg " + (mine ? "out" : "in") + (m.from && m.from.is_bot ? " bot" : ""));
    row.dataset.messageId = m.message_id;
    row.dataset.testid = "message";
    const sameSender = prev && prev.from && m.from && prev.from.id === m.from.id;
    if (!mine) {
      if (chat.kind !== "private" && !sameSender) row.appendChild(avatar(m.from.name, m.from.id, "small"));
      else row.appendChild(el("div", "avatar-gap"));
    }
    const column = el("div", "msg-column");
    const bubble = el("div", "bubble");
    if (!mine && chat.kind !== "private" && !sameSender) {
      const name = el("div", "sender", m.from.is_bot ? m.from.name : m.from.name);
      name.style.color = colorFor(m.from.id);
      if (m.from.is_bot) name.appendChild(el("span", "bot-tag", t("bot_label")));
      bubble.appendChild(name);
    }
    if (m.reply_to_message_id) {
      const target = chat.messages.get(m.reply_to_message_id);
      const quote = el("div", "quote");
      quote.style.borderColor = target && target.from ? colorFor(target.from.id) : "#3390ec";
      quote.appendChild(el("div", "quote-name", target && target.from ? target.from.name : "…"));
      quote.appendChild(el("div", "quote-text", target ? preview(Object.assign({}, target, { from: { is_bot: true } })) : ""));
      quote.addEventListener("click", () => {
        const node = $("messages").querySelector('[data-message-id="' + m.reply_to_message_id + '"]');
        if (node) { node.scrollIntoView({ block: "center", behavior: "smooth" }); node.classList.add("flash"); setTimeout(() => node.classList.remove("flash"), 1500); }
      });
      bubble.appendChild(quote);
    }
    if (m.file) bubble.appendChild(renderFile(m));
    if (m.text) {
      bubble.appendChild(TelegramEntities.renderMessageText(m.text, m.entities, { onCommand: putCommand }));
    }
    const meta = el("span", "meta");
    if (m.edit_count) meta.appendChild(el("span", "edited", t("edited")));
    meta.appendChild(el("span", "time", timeFmt.format(new Date(m.date * 1000))));
    bubble.appendChild(meta);
    column.appendChild(bubble);
    const rows = m.buttons || [];
    if (rows.length) {
      const kb = el("div", "keyboard");
      for (const r of rows) {
        const line = el("div", "kb-row");
        for (const b of r) {
          const btn = el("button", "kb-btn", b.text);
          btn.type = "button";
          if (b.callback_data) {
            btn.dataset.callback = b.callback_data;
            btn.addEventListener("click", () => press(chat.id, m.message_id, b.callback_data, btn));
          } else if (b.url) {
            const href = TelegramEntities.safeUrl(b.url);
            btn.textContent = b.text + " ↗";
            if (href) btn.addEventListener("click", () => window.open(href, "_blank", "noopener"));
          }
          line.appendChild(btn);
        }
        kb.appendChild(line);
      }
      column.appendChild(kb);
    }
    row.appendChild(column);
    const replyBtn = el("button", "reply-btn", "↩");
    replyBtn.type = "button";
    replyBtn.title = t("reply");
    replyBtn.setAttribute("aria-label", t("reply"));
    replyBtn.dataset.testid = "reply";
    replyBtn.addEventListener("click", () => setReply(m));
    row.appendChild(replyBtn);
    bubble.addEventListener("dblclick", () => setReply(m));
    return row;
  }

  function renderFile(m) {
    const f = m.file;
    const url = "/api/sandbox/files/" + encodeURIComponent(f.file_id);
    if (m.kind === "photo" || (f.mime_type || "").startsWith("image/")) {
      const img = el("img", "photo");
      img.src = url;
      img.alt = f.file_name || t("file");
      img.loading = "lazy";
      img.addEventListener("click", () => window.open(url, "_blank", "noopener"));
      return img;
    }
    const doc = el("a", "document");
    doc.href = url;
    doc.target = "_blank";
    doc.rel = "noopener";
    doc.appendChild(el("span", "doc-icon", "📄"));
    const info = el("span", "doc-info");
    info.appendChild(el("span", "doc-name", f.file_name || t("file")));
    info.appendChild(el("span", "doc-size", formatSize(f.size) + " · " + t("open_file")));
    doc.appendChild(info);
    return doc;
  }

  function formatSize(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  // ------------------------------------------------------------------ acting

  function fillPersonas() {
    for (const select of [$("persona"), $("composer-persona")]) {
      select.replaceChildren();
      for (const p of state.people) {
        const opt = el("option", null, select.id === "persona" ? personLabel(p) : p.name);
        opt.value = String(p.id);
        opt.title = personLabel(p);
        select.appendChild(opt);
      }
      select.value = String(state.persona);
    }
    $("input").placeholder = t("placeholder");
  }

  function setPersona(id) {
    state.persona = id;
    localStorage.setItem("liuyan.persona", String(id));
    fillPersonas();
    const chat = state.chats.get(state.active);
    if (!chat || !chatVisible(chat)) {
      state.active = state.order.find((cid) => chatVisible(state.chats.get(cid)));
    }
    renderList();
    renderChat();
  }

  function putCommand(command) {
    const input = $("input");
    input.value = command + " ";
    input.focus();
    autosize();
  }

  function setReply(m) {
    const bar = $("reply-bar");
    if (!m) { state.replyTo = null; bar.hidden = true; return; }
    state.replyTo = { chat_id: m.chat_id, message_id: m.message_id };
    $("reply-bar-title").textContent = t("replying_to", { name: m.from ? m.from.name : "" });
    $("reply-bar-text").textContent = (m.text || "").split("\n").find((l) => l.trim()) || "";
    bar.hidden = false;
    $("input").focus();
  }

  async function post(url, body) {
    const resp = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    let data = {};
    try { data = await resp.json(); } catch (e) { /* keep {} */ }
    return { ok: resp.ok, status: resp.status, data: data };
  }

  async function send(ev) {
    ev.preventDefault();
    const input = $("input");
    const text = input.value;
    if (!text.trim() || state.active === null) return;
    const body = { user_id: state.persona, text: text };
    if (state.replyTo && state.replyTo.chat_id === state.active) body.reply_to_message_id = state.replyTo.message_id;
    const thread = openTopic(state.chats.get(state.active));
    if (thread) body.message_thread_id = thread;
    const res = await post("/api/sandbox/chats/" + state.active + "/messages", body);
    if (!res.ok) { toast(t("failed", { reason: res.data.error || res.status })); return; }
    input.value = "";
    autosize();
    setReply(null);
  }

  async function press(chatId, messageId, data, btn) {
    btn.classList.add("pressed");
    const res = await post("/api/sandbox/chats/" + chatId + "/messages/" + messageId + "/press",
      { user_id: state.persona, data: data });
    btn.classList.remove("pressed");
    if (res.status === 409) { toast(t("button_gone")); return; }
    if (!res.ok) { toast(t("failed", { reason: res.data.error || res.status })); return; }
    const answer = res.data.answer;
    if (!answer) { toast(t("no_answer")); return; }
    if (!answer.text) return;
    if (answer.show_alert) modal(answer.text); else toast(answer.text);
  }

  let toastTimer = null;
  function toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
  }

  function modal(text) {
    $("modal-text").textContent = text;
    $("modal").hidden = false;
    $("modal-ok").focus();
  }

  function autosize() {
    const input = $("input");
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
  }

  // ------------------------------------------------------------------ sandbox clock and notes

  function setClock(snapshot) {
    state.clock = { at: Date.parse(snapshot.now), rate: snapshot.rate, paused: snapshot.paused,
                    resume: snapshot.resume_rate, real: performance.now() };
    const toggle = $("clock-toggle");
    if (!toggle) return;
    toggle.textContent = snapshot.paused ? "▶" : "⏸";
    toggle.title = snapshot.paused ? t("resume") : t("pause");
    const rate = $("clock-rate");
    const value = String(Math.round(snapshot.paused ? snapshot.resume_rate : snapshot.rate));
    if (!Array.from(rate.options).some((o) => o.value === value)) {
      const opt = el("option", null, "×" + value);
      opt.value = value;
      rate.appendChild(opt);
    }
    rate.value = value;
    tickClock();
  }

  function sandboxNow() {
    const c = state.clock;
    if (!c) return null;
    return new Date(c.at + (performance.now() - c.real) * c.rate);
  }

  function tickClock() {
    const node = $("clock");
    const now = sandboxNow();
    if (!node || !now) return;
    const when = narrow.matches ? clockShortFmt.format(now) : "🕒 " + clockFmt.format(now);
    node.textContent = when + (state.clock.paused ? " · " + t("paused") : "");
    node.title = t("sandbox_time");
  }

  function renderNarration(fresh) {
    const box = $("narration");
    const notes = state.narrations;
    if (!notes.length) { box.hidden = true; return; }
    const last = notes[notes.length - 1];
    box.hidden = false;
    $("narration-title").textContent = "📌 " + t("narration") + " · " + notes.length;
    $("narration-text").textContent = last.text[boot.lang] || last.text.zh;
    const all = $("narration-all");
    all.replaceChildren();
    for (const n of notes) all.appendChild(el("li", null, n.text[boot.lang] || n.text.zh));
    if (fresh) { box.classList.add("flash"); setTimeout(() => box.classList.remove("flash"), 1500); }
  }

  async function clockAction(body) {
    const res = await post("/api/sandbox/clock", body);
    if (!res.ok) toast(t("failed", { reason: res.data.error || res.status }));
    else setClock(res.data.clock);
  }

  // ------------------------------------------------------------------ wiring

  $("composer").addEventListener("submit", send);
  $("input").addEventListener("input", autosize);
  $("input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $("composer").requestSubmit(); }
    if (ev.key === "Escape") setReply(null);
  });
  $("reply-cancel").addEventListener("click", () => setReply(null));
  $("persona").addEventListener("change", (ev) => setPersona(Number(ev.target.value)));
  $("composer-persona").addEventListener("change", (ev) => setPersona(Number(ev.target.value)));
  $("back").addEventListener("click", () => { document.body.classList.remove("show-chat"); renderList(); });
  $("modal-ok").addEventListener("click", () => { $("modal").hidden = true; });
  $("modal-ok").textContent = t("ok");
  $("send").title = t("send");
  $("narration-more").addEventListener("click", () => {
    const all = $("narration-all");
    all.hidden = !all.hidden;
    $("narration").classList.toggle("open", !all.hidden);
  });
  if (boot.has_clock) {
    $("clock-toggle").addEventListener("click", () => clockAction({ action: state.clock && state.clock.paused ? "resume" : "pause" }));
    $("clock-rate").addEventListener("change", (ev) => clockAction({ action: "rate", rate: Number(ev.target.value) }));
    $("skip-hour").title = t("jump_hour");
    $("skip-day").title = t("jump_day");
    $("skip-hour").addEventListener("click", () => clockAction({ action: "advance", minutes: 60 }));
    $("skip-day").addEventListener("click", () => clockAction({ action: "advance", minutes: 24 * 60 }));
    setInterval(tickClock, 250);
  }
  connect();
})();
