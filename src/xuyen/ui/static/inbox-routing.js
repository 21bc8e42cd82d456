// Canned responses in the reply box: "/shortcut" followed by a space or Tab becomes the saved reply, with the
// customer's, the agent's and the shop's names filled in by the server (POST /api/v1/inbox/canned-responses/expand);
// a select above the box inserts one too. Without JavaScript the box is a plain textarea.
(function () {
  "use strict";
  var box = document.getElementById("reply-text");
  var routing = document.querySelector("[data-canned-label]");
  if (!box || !routing || !window.fetch) { return; }
  var form = box.form;
  var token = form && form.querySelector("input[name=csrf_token]");
  var thread = document.querySelector("[data-live-conversation]");
  var conversationId = thread ? Number(thread.getAttribute("data-live-conversation")) : null;
  var api = "/api/v1/inbox/canned-responses";
  var shortcutTyped = /^\s*\/([A-Za-z0-9][A-Za-z0-9_-]{0,39})$/;

  function expand(text) {
    return fetch(api + "/expand", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token ? token.value : "" },
      body: JSON.stringify({ text: text, conversation_id: conversationId })
    }).then(function (answer) { return answer.ok ? answer.json() : null; });
  }

  box.addEventListener("keydown", function (event) {
    if (event.key !== " " && event.key !== "Tab") { return; }
    var before = box.value.slice(0, box.selectionStart);
    if (!shortcutTyped.test(before) || box.selectionStart !== box.selectionEnd) { return; }
    event.preventDefault();
    var after = box.value.slice(box.selectionStart);
    expand(before).then(function (found) {
      if (found) {
        box.value = found.text + after;
        box.selectionStart = box.selectionEnd = found.text.length;
      } else if (event.key === " ") {
        box.value = before + " " + after;
        box.selectionStart = box.selectionEnd = before.length + 1;
      }
    });
  });

  fetch(api, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (answer) { return answer.ok ? answer.json() : []; })
    .then(function (responses) {
      if (!responses.length) { return; }
      var wrap = document.createElement("p");
      wrap.className = "canned";
      var select = document.createElement("select");
      select.setAttribute("aria-label", routing.getAttribute("data-canned-label"));
      var first = document.createElement("option");
      first.value = "";
      first.textContent = routing.getAttribute("data-canned-label");
      select.appendChild(first);
      responses.forEach(function (response) {
        var option = document.createElement("option");
        option.value = response.shortcut;
        option.textContent = "/" + response.shortcut + " — " + response.text.slice(0, 60);
        select.appendChild(option);
      });
      select.addEventListener("change", function () {
        if (!select.value) { return; }
        expand("/" + select.value).then(function (found) {
          if (found) {
            var at = box.selectionStart;
            box.value = box.value.slice(0, at) + found.text + box.value.slice(box.selectionEnd);
            box.focus();
          }
          select.value = "";
        });
      });
      wrap.appendChild(select);
      box.parentNode.insertBefore(wrap, box);
    });
})();
