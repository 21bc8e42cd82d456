/* Xuyên lead form: renders a form (or enhances one of the site's own) and sends it to Xuyên.
 *
 *   <script src="https://XUYEN/forms/lead.js" data-form="FORM_KEY" async></script>
 *   <script src="https://XUYEN/forms/lead.js" data-form="FORM_KEY" data-target="#my-form" async></script>
 *
 * data-lang="en" for English labels. The page's utm_* parameters and address go with the submission.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.getAttribute("data-form")) { return; }
  var key = script.getAttribute("data-form");
  var base = new URL(script.src).origin + "/forms/leads/" + encodeURIComponent(key);
  var en = (script.getAttribute("data-lang") || document.documentElement.lang || "vi").slice(0, 2) === "en";
  var text = en ? {
    name: "Full name", phone: "Phone", email: "E-mail", message: "Message", send: "Send",
    sending: "Sending…", done: "Thank you! We will contact you soon.", failed: "Could not send the form: "
  } : {
    name: "Họ tên", phone: "Số điện thoại", email: "Email", message: "Lời nhắn", send: "Gửi",
    sending: "Đang gửi…", done: "Cảm ơn bạn! Chúng tôi sẽ liên hệ sớm.", failed: "Chưa gửi được: "
  };

  function field(form, name, label, type) {
    var wrap = document.createElement("p");
    var tag = document.createElement("label");
    var input = document.createElement(type === "textarea" ? "textarea" : "input");
    if (type !== "textarea") { input.type = type; }
    input.name = name;
    tag.appendChild(document.createTextNode(label + " "));
    tag.appendChild(input);
    wrap.appendChild(tag);
    form.appendChild(wrap);
  }

  function render() {
    var form = document.createElement("form");
    form.className = "xuyen-lead-form";
    field(form, "name", text.name, "text");
    field(form, "phone", text.phone, "tel");
    field(form, "email", text.email, "email");
    field(form, "message", text.message, "textarea");
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = text.send;
    form.appendChild(button);
    script.parentNode.insertBefore(form, script.nextSibling);
    return form;
  }

  function hidden(form, name, value) {
    var input = form.querySelector('input[name="' + name + '"]') || document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
    return input;
  }

  function trap(form, name) {
    var input = document.createElement("input");
    input.type = "text";
    input.name = name;
    input.tabIndex = -1;
    input.autocomplete = "off";
    input.setAttribute("aria-hidden", "true");
    input.style.cssText = "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden";
    form.appendChild(input);
  }

  function say(form, message, ok) {
    var box = form.querySelector(".xuyen-lead-status") || document.createElement("p");
    box.className = "xuyen-lead-status";
    box.setAttribute("role", ok ? "status" : "alert");
    box.textContent = message;
    form.appendChild(box);
  }

  function start(form) {
    var token = hidden(form, "_token", "");
    hidden(form, "page", location.href.slice(0, 200));
    var params = new URLSearchParams(location.search);
    ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (name) {
      if (params.get(name)) { hidden(form, name, params.get(name)); }
    });
    var trapped = false;
    function loadToken() {
      fetch(base + "/token", { credentials: "omit" }).then(function (r) { return r.json(); }).then(function (data) {
        token.value = data.token || "";
        if (data.honeypot && !trapped) { trap(form, data.honeypot); trapped = true; }
      });
    }
    loadToken();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {};
      new FormData(form).forEach(function (value, name) { body[name] = String(value); });
      var button = form.querySelector('[type="submit"]');
      if (button) { button.disabled = true; }
      say(form, text.sending, true);
      fetch(base, {
        method: "POST", credentials: "omit", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "Accept": "application/json" }
      }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (answer) {
        if (answer.ok) {
          form.reset();
          if (button) { button.disabled = false; }
          loadToken();
          say(form, text.done, true);
          form.dispatchEvent(new CustomEvent("xuyen:lead", { bubbles: true }));
        } else {
          if (button) { button.disabled = false; }
          say(form, text.failed + (answer.data.detail || answer.data.code || ""), false);
        }
      }).catch(function () {
        if (button) { button.disabled = false; }
        say(form, text.failed + "network", false);
      });
    });
  }

  var selector = script.getAttribute("data-target");
  var target = selector ? document.querySelector(selector) : null;
  start(target || render());
}());
