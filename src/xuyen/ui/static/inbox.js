// Live inbox: parts of the page marked data-live-src are fetched again when the inbox stream reports a change
// that concerns them (data-live-conversation limits a part to one conversation).
(function () {
  "use strict";
  var parts = Array.prototype.slice.call(document.querySelectorAll("[data-live-src]"));
  if (!parts.length || !window.EventSource) { return; }
  var pending = new Set();
  var timer = null;

  function refresh() {
    timer = null;
    pending.forEach(function (part) {
      fetch(part.getAttribute("data-live-src"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          // Never replace what someone is filling in or clicking: a part whose form they touched waits for its
          // submit, and one with a field in focus or a button held down waits until they let go. A part that
          // has not changed is left as it is.
          if (html === null || part.hasAttribute("data-live-dirty") || unchanged(part, html)) { return; }
          if (inUse(part)) { part.setAttribute("data-live-stale", ""); return; }
          var stuck = part.scrollHeight - part.scrollTop - part.clientHeight < 40;
          part.innerHTML = html;
          if (stuck) { part.scrollTop = part.scrollHeight; }
          part.dispatchEvent(new CustomEvent("inbox:refreshed", { bubbles: true }));
        });
    });
    pending.clear();
  }

  function unchanged(part, html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    return fresh.innerHTML.trim() === part.innerHTML.trim();
  }

  function inUse(part) {
    var active = document.activeElement;
    return part.hasAttribute("data-live-pressed")
      || Boolean(active && part.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }

  function refreshWhenFree(part) {
    // Wait for the focus to land: moving between fields of the same part keeps the refresh waiting.
    window.setTimeout(function () {
      if (!part.hasAttribute("data-live-stale") || inUse(part)) { return; }
      part.removeAttribute("data-live-stale");
      pending.add(part);
      schedule(0);
    }, 0);
  }

  function schedule(delay) {
    if (pending.size && timer === null) { timer = window.setTimeout(refresh, delay); }
  }

  function concerns(part, news) {
    var only = part.getAttribute("data-live-conversation");
    return !only || !news.conversation_id || String(news.conversation_id) === only;
  }

  parts.forEach(function (part) {
    part.addEventListener("input", function () { part.setAttribute("data-live-dirty", ""); });
    part.addEventListener("change", function () { part.setAttribute("data-live-dirty", ""); });
    part.addEventListener("focusout", function () { refreshWhenFree(part); });
    part.addEventListener("pointerdown", function () { part.setAttribute("data-live-pressed", ""); });
  });
  ["pointerup", "pointercancel"].forEach(function (name) {
    document.addEventListener(name, function () {  // wherever the button is let go
      parts.forEach(function (part) {
        if (!part.hasAttribute("data-live-pressed")) { return; }
        part.removeAttribute("data-live-pressed");
        refreshWhenFree(part);
      });
    });
  });

  var stream = new EventSource("/api/v1/inbox/stream");
  stream.addEventListener("inbox", function (event) {
    var news = {};
    try { news = JSON.parse(event.data); } catch (error) { news = { kind: "reload" }; }
    parts.forEach(function (part) { if (concerns(part, news)) { pending.add(part); } });
    schedule(100);
  });
  stream.addEventListener("open", function () {
    // Whatever changed between the page being drawn and the stream connecting (or while it was reconnecting)
    // was told to nobody: fetch every part once now.
    parts.forEach(function (part) { pending.add(part); });
    schedule(0);
    document.documentElement.setAttribute("data-inbox-live", "on");
  });
  parts.forEach(function (part) {
    if (part.hasAttribute("data-live-conversation")) { part.scrollTop = part.scrollHeight; }
  });
})();
