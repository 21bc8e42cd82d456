/* Xuyên web chat widget. Embed with:
 *   <script src="https://XUYEN/chat/widget.js" data-channel="ID" async></script>
 * Optional, for a signed-in customer (hashes computed by the site's backend with the identity secret):
 *   data-user-id, data-user-hash, data-email, data-email-hash; or XuyenChat.identify({...}) later.
 * Vanilla JS, no build step, no inline styles or scripts (works under a strict Content-Security-Policy), all
 * markup inside a shadow root so the site's CSS and the widget's never meet. */
(function () {
  "use strict";
  if (window.XuyenChat && window.XuyenChat.version) return;

  var script = document.currentScript ||
    document.querySelector('script[data-channel][src*="/chat/widget.js"]');
  var channel = script && script.getAttribute("data-channel");
  if (!channel || !/^[0-9]+$/.test(channel)) {
    if (window.console) console.warn("Xuyên chat: the script tag needs data-channel=\"<channel id>\".");
    return;
  }
  var api = new URL(script.src, location.href).origin + "/chat/" + channel;
  var lang = (document.documentElement.lang || navigator.language || "").toLowerCase();
  var vi = lang.slice(0, 2) === "vi";
  var T = vi ? {
    open: "Mở khung chat", close: "Đóng khung chat", title: "Chat với cửa hàng",
    greeting: "Xin chào! Chúng tôi có thể giúp gì cho bạn?", label: "Tin nhắn", placeholder: "Nhập tin nhắn…",
    send: "Gửi", sending: "Đang gửi…", failed: "Chưa gửi được.", retry: "Gửi lại", you: "Bạn",
    offline: "Mất kết nối, đang thử lại…", unread: "tin nhắn mới", log: "Cuộc trò chuyện"
  } : {
    open: "Open chat", close: "Close chat", title: "Chat with us",
    greeting: "Hi! How can we help you?", label: "Message", placeholder: "Write a message…",
    send: "Send", sending: "Sending…", failed: "Not sent.", retry: "Retry", you: "You",
    offline: "Connection lost, trying again…", unread: "new messages", log: "Conversation"
  };
  var KEY = "xuyen_chat_" + channel;
  var MAX_TEXT = 4000;

  // State: who the visitor is, their token, what is shown. -----------------------------------------------
  var state = load();
  var identity = {
    userId: script.getAttribute("data-user-id"), userHash: script.getAttribute("data-user-hash"),
    email: script.getAttribute("data-email"), emailHash: script.getAttribute("data-email-hash")
  };
  var items = [];          // {id?, cid?, from, text, state?}
  var seen = {};           // message ids shown
  var sessionPromise = null, stream = null, streamFailures = 0, historyLoaded = false, unread = 0, isOpen = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify({aid: state.aid, token: state.token, exp: state.exp,
      lastId: state.lastId, chatted: state.chatted})); } catch (e) { /* storage may be off: the chat still works */ }
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // The same anonymous id as the site's Segment or RudderStack tracking, when the site has it.
  function analyticsId() {
    try {
      var a = window.analytics;
      if (a && typeof a.user === "function") { var id = a.user().anonymousId(); if (id) return String(id); }
    } catch (e) { /* analytics.js not ready yet */ }
    try {
      var r = window.rudderanalytics;
      if (r && typeof r.getAnonymousId === "function") { var rid = r.getAnonymousId(); if (rid) return String(rid); }
    } catch (e) { /* RudderStack not ready yet */ }
    var found = document.cookie.match(/(?:^|;\s*)ajs_anonymous_id=([^;]+)/);
    var value = found ? found[1] : null;
    if (!value) { try { value = localStorage.getItem("ajs_anonymous_id"); } catch (e) { value = null; } }
    if (!value) return null;
    try { value = decodeURIComponent(value); if (value.charAt(0) === '"') value = JSON.parse(value); } catch (e) { return null; }
    return value ? String(value) : null;
  }

  // HTTP ---------------------------------------------------------------------------------------------------
  function call(method, url, body) {
    var options = {method: method, mode: "cors", credentials: "omit", cache: "no-store", headers: {}};
    if (body !== undefined) {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "text/plain;charset=UTF-8";  // a simple request: no preflight
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!response.ok) {
          var error = new Error((data && data.detail) || ("HTTP " + response.status));
          error.status = response.status;
          error.code = data && data.code;
          error.retryAfter = parseInt(response.headers.get("Retry-After") || "0", 10) || 0;
          throw error;
        }
        return data;
      });
    });
  }

  function openSession(withIdentity) {
    var body = {anonymousId: analyticsId() || state.aid || null};
    if (withIdentity) {
      for (var name in identity) { if (identity[name]) body[name] = identity[name]; }
    }
    return call("POST", api + "/session", body).then(function (session) {
      if (session.anonymousId !== state.aid) { historyLoaded = false; state.lastId = 0; }
      state.aid = session.anonymousId;
      state.token = session.token;
      state.exp = Date.parse(session.expiresAt) || 0;
      save();
      look(session);
      return session;
    }, function (error) {
      if (withIdentity && error.code === "identity_not_verified") {
        if (window.console) console.warn("Xuyên chat: " + error.message + " The visitor stays anonymous.");
        identity = {};
        return openSession(false);
      }
      throw error;
    });
  }

  function ensureSession() {
    if (state.token && state.exp - 60000 > Date.now()) return Promise.resolve();
    if (!sessionPromise) {
      sessionPromise = openSession(true).then(function () { sessionPromise = null; },
        function (error) { sessionPromise = null; throw error; });
    }
    return sessionPromise;
  }

  function renew() { state.token = null; return ensureSession(); }

  function loadHistory() {
    if (historyLoaded) return Promise.resolve();
    return call("GET", api + "/messages?token=" + encodeURIComponent(state.token)).then(function (data) {
      historyLoaded = true;
      (data.messages || []).forEach(show);
    });
  }

  // Sending, with retries: the same clientMessageId every time, so the inbox takes it once. ------------------
  function deliver(item, attempt) {
    item.state = "sending";
    paint(item);
    ensureSession().then(function () {
      return call("POST", api + "/messages", {
        visitor: state.token, anonymousId: state.aid, text: item.text, clientMessageId: item.cid,
        page: {url: location.origin + location.pathname, title: document.title}
      });
    }).then(function () {
      item.state = "sent";
      state.chatted = true;
      save();
      paint(item);
      listen();
    }, function (error) {
      if (error.status === 401 && attempt < 2) { state.token = null; deliver(item, attempt + 1); return; }
      var passing = !error.status || error.status === 429 || error.status >= 500;
      if (passing && attempt < 6) {
        var wait = error.retryAfter ? error.retryAfter * 1000 : Math.min(30000, 1000 * Math.pow(2, attempt));
        setTimeout(function () { deliver(item, attempt + 1); }, wait);
        return;
      }
      item.state = "failed";
      paint(item);
    });
  }

  function submit(event) {
    event.preventDefault();
    var text = ui.text.value.trim();
    if (!text) return;
    if (text.length > MAX_TEXT) text = text.slice(0, MAX_TEXT);
    ui.text.value = "";
    var item = {cid: newId(), from: "visitor", text: text, state: "sending"};
    items.push(item);
    deliver(item, 0);
  }

  // Receiving: the agents' replies, live. --------------------------------------------------------------------
  function show(message) {
    if (seen[message.id]) return false;
    seen[message.id] = true;
    if (message.id > (state.lastId || 0)) { state.lastId = message.id; save(); }
    if (message.from === "visitor" && message.clientMessageId) {
      for (var i = 0; i < items.length; i++) {
        if (items[i].cid === message.clientMessageId) {
          items[i].id = message.id; items[i].state = "sent"; paint(items[i]); return false;
        }
      }
    }
    var item = {id: message.id, cid: message.clientMessageId, from: message.from, text: message.text, state: "sent"};
    items.push(item);
    paint(item);
    if (message.from === "agent" && !isOpen) { unread += 1; badge(); }
    return true;
  }

  function listen() {
    if (stream || !state.token || typeof EventSource === "undefined") return;
    var url = api + "/stream?token=" + encodeURIComponent(state.token) + "&after=" + (state.lastId || 0);
    stream = new EventSource(url);
    stream.addEventListener("open", function () { streamFailures = 0; status(""); });
    stream.addEventListener("message", function (event) {
      try { show(JSON.parse(event.data)); } catch (e) { /* a line we do not know */ }
    });
    stream.addEventListener("expired", function () { restart(true); });
    stream.addEventListener("error", function () {
      if (stream && stream.readyState === EventSource.CLOSED) restart(true);  // refused: the token, most likely
      else status(T.offline);  // the browser reconnects by itself
    });
  }

  function restart(needsSession) {
    if (stream) { stream.close(); stream = null; }
    streamFailures += 1;
    var wait = Math.min(60000, 1000 * Math.pow(2, Math.min(streamFailures, 6)));
    if (streamFailures > 1) status(T.offline);
    setTimeout(function () {
      (needsSession ? renew() : ensureSession()).then(loadHistory).then(listen, function () { restart(true); });
    }, streamFailures > 1 ? wait : 0);
  }

  // The widget on the page ---------------------------------------------------------------------------------
  var CSS = [
    ":host{all:initial}",
    ".root{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1f2933}",
    ".bubble{width:56px;height:56px;border-radius:50%;border:0;background:var(--xc);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;position:relative;float:right}",
    ".bubble:focus-visible,.close:focus-visible,.send:focus-visible,.retry:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}",
    ".bubble svg{width:28px;height:28px;fill:currentColor}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#c81e1e;color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px;box-sizing:border-box}",
    ".panel{width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 110px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;margin-bottom:12px}",
    ".panel[hidden],.badge[hidden]{display:none}",
    ".head{background:var(--xc);color:#fff;padding:12px 14px;display:flex;align-items:center;justify-content:space-between}",
    ".head h2{margin:0;font-size:16px;font-weight:600}",
    ".close{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:2px 6px;border-radius:4px}",
    ".log{list-style:none;margin:0;padding:12px;flex:1;overflow-y:auto;background:#f5f7fa}",
    ".msg{max-width:80%;margin:0 0 8px;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;background:#fff;border:1px solid #e4e7eb}",
    ".msg--visitor{margin-left:auto;background:var(--xc);color:#fff;border-color:transparent}",
    ".msg small{display:block;font-size:12px;opacity:.85;margin-top:2px}",
    ".retry{background:#fff;color:#c81e1e;border:1px solid #c81e1e;border-radius:6px;font-size:12px;margin-left:6px;cursor:pointer}",
    ".status{margin:0;padding:0 12px;font-size:12px;color:#9b1c1c;background:#f5f7fa}",
    ".compose{display:flex;gap:8px;padding:10px;border-top:1px solid #e4e7eb;background:#fff}",
    ".compose textarea{flex:1;resize:none;border:1px solid #cbd2d9;border-radius:8px;padding:8px;font:inherit;min-height:40px;max-height:120px;color:inherit}",
    ".compose textarea:focus{outline:2px solid var(--xc);outline-offset:0}",
    ".send{background:var(--xc);color:#fff;border:0;border-radius:8px;padding:0 14px;font:inherit;font-weight:600;cursor:pointer}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.root{right:10px;bottom:10px}.panel{width:calc(100vw - 20px);height:calc(100vh - 90px)}}"
  ].join("\n");

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    for (var name in attributes || {}) node.setAttribute(name, attributes[name]);
    if (text) node.textContent = text;
    return node;
  }

  function icon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  var ui = {};
  var colour = "#0f766e", sheet = null;

  function style(root) {
    var text = ":host{--xc:" + colour + "}\n" + CSS;
    if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
      try {  // a constructed stylesheet: not an inline style, so no 'unsafe-inline' needed
        sheet = sheet || new CSSStyleSheet();
        sheet.replaceSync(text);
        root.adoptedStyleSheets = [sheet];
        return;
      } catch (e) { /* older browsers */ }
    }
    var node = root.querySelector("style") || root.appendChild(document.createElement("style"));
    node.textContent = text;
  }

  function build() {
    var host = el("div", {"data-xuyen-chat": channel});
    var root = host.attachShadow ? host.attachShadow({mode: "open"}) : host;
    style(root);
    var wrap = el("div", {"class": "root", lang: vi ? "vi" : "en"});
    ui.panel = el("section", {"class": "panel", id: "xc-panel", role: "dialog", "aria-labelledby": "xc-title", hidden: ""});
    var head = el("div", {"class": "head"});
    ui.title = el("h2", {id: "xc-title"}, T.title);
    ui.close = el("button", {type: "button", "class": "close", "aria-label": T.close}, "×");
    head.appendChild(ui.title);
    head.appendChild(ui.close);
    ui.log = el("ol", {"class": "log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0"});
    ui.status = el("p", {"class": "status", role: "status"});
    ui.form = el("form", {"class": "compose"});
    ui.form.appendChild(el("label", {"for": "xc-text", "class": "sr"}, T.label));
    ui.text = el("textarea", {id: "xc-text", rows: "1", maxlength: String(MAX_TEXT), placeholder: T.placeholder});
    ui.form.appendChild(ui.text);
    ui.form.appendChild(el("button", {type: "submit", "class": "send"}, T.send));
    [head, ui.log, ui.status, ui.form].forEach(function (node) { ui.panel.appendChild(node); });
    ui.bubble = el("button", {type: "button", "class": "bubble", "aria-label": T.open, "aria-expanded": "false",
      "aria-controls": "xc-panel"});
    ui.bubble.appendChild(icon());
    ui.badge = el("span", {"class": "badge", hidden: ""});
    ui.bubble.appendChild(ui.badge);
    wrap.appendChild(ui.panel);
    wrap.appendChild(ui.bubble);
    root.appendChild(wrap);
    ui.root = root;

    ui.bubble.addEventListener("click", function () { isOpen ? close() : open(); });
    ui.close.addEventListener("click", close);
    ui.form.addEventListener("submit", submit);
    ui.text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
    });
    ui.panel.addEventListener("keydown", function (event) { if (event.key === "Escape") close(); });
    ui.greeting = el("li", {"class": "msg msg--agent"}, T.greeting);
    ui.log.appendChild(ui.greeting);
    document.body.appendChild(host);
  }

  function look(session) {
    if (session.colour && /^#[0-9a-fA-F]{3,6}$/.test(session.colour)) { colour = session.colour; style(ui.root); }
    ui.title.textContent = session.title || T.title;
    ui.greeting.textContent = session.greeting || T.greeting;
  }

  function status(text) { ui.status.textContent = text; }

  // Each message is painted once and updated in place, so screen readers announce only what is new.
  function paint(item) {
    if (!ui.log) return;
    if (!item.node) {
      item.node = el("li", {"class": "msg msg--" + item.from});
      ui.log.appendChild(item.node);
    }
    var node = item.node;
    node.textContent = item.text;
    if (item.from === "visitor" && item.state !== "sent") {
      var note = el("small", {}, item.state === "failed" ? T.failed : T.sending);
      if (item.state === "failed") {
        var retry = el("button", {type: "button", "class": "retry"}, T.retry);
        retry.addEventListener("click", function () { deliver(item, 0); });
        note.appendChild(retry);
      }
      node.appendChild(note);
    }
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function badge() {
    ui.badge.textContent = unread ? String(unread) : "";
    ui.badge.hidden = !unread;
    ui.bubble.setAttribute("aria-label", unread ? T.open + " (" + unread + " " + T.unread + ")" : T.open);
  }

  function open() {
    isOpen = true;
    unread = 0;
    ui.panel.hidden = false;
    ui.bubble.setAttribute("aria-expanded", "true");
    badge();
    ui.text.focus();
    ensureSession().then(loadHistory).then(listen, function (error) { status(error.message); });
  }

  function close() {
    isOpen = false;
    ui.panel.hidden = true;
    ui.bubble.setAttribute("aria-expanded", "false");
    ui.bubble.focus();
  }

  function start() {
    build();
    if (state.chatted) {  // a returning visitor: their history, and replies that come while the panel is closed
      ensureSession().then(loadHistory).then(listen, function () { /* tried again when they open the chat */ });
    }
  }

  window.XuyenChat = {
    version: 1,
    open: function () { if (ui.panel) open(); },
    close: function () { if (ui.panel) close(); },
    identify: function (who) {
      identity = {userId: who && who.userId, userHash: who && who.userHash, email: who && who.email,
        emailHash: who && who.emailHash};
      state.token = null;
      if (stream) { stream.close(); stream = null; }
      return ensureSession().then(function () { historyLoaded = false; return loadHistory(); }).then(listen);
    }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
