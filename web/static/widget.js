/*! faqbot widget: one script tag adds a chat button and panel to any page.
 * <script src="https://BOT_HOST/widget.js" async data-title="…" data-lang="auto"
 *         data-position="right"></script>
 * Everything lives in a Shadow DOM; the only global is window.FaqBot. Server and visitor
 * text is always set as text (never innerHTML). */
(function () {
  "use strict";
  if (window.FaqBot) return;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var data = (script && script.dataset) || {};
  var API = (data.api || (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/$/, "");
  var STORE_KEY = "faqbot:" + API;
  var TIMEOUT_MS = 20000;
  var MAX_ITEMS = 60;
  var MAX_CHARS = 1000;
  var ICONS = {
    chat: "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2z",
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z"
  };

  var STRINGS = {
    zh: {
      title: "健康问答助手", open: "打开健康问答", close: "关闭", newChat: "新对话",
      welcome: "您好！我会引用资料原文回答关于腰痛、腰椎间盘突出、脊柱肿瘤和脑膜瘤的问题。您可以问：",
      placeholder: "输入您的问题…", inputLabel: "您的问题",
      send: "发送", typing: "正在查找资料…", source: "来源", page: "第{page}页", helpful: "这个回答有帮助吗？",
      up: "有帮助", down: "没有帮助", thanks: "感谢您的反馈！", retry: "重试",
      offline: "暂时无法连接服务器，您的消息没有丢失。", slow: "服务器响应超时，您的消息没有丢失。",
      server: "服务器出错了，您的消息没有丢失。", wait: "发送太频繁，请 {s} 秒后再试。",
      urgent: "紧急提示", log: "对话记录", suggested: "推荐问题", you: "您", bot: "助手",
      notSent: "未发送", unsent: "您的上一条消息还没有发送。"
    },
    en: {
      title: "Health Q&A", open: "Open health Q&A chat", close: "Close", newChat: "New conversation",
      welcome: "Hello! I answer questions about low back pain, disc herniation, spinal tumours and meningioma by quoting our sources. You could ask:",
      placeholder: "Type your question…", inputLabel: "Your question",
      send: "Send", typing: "Looking it up…", source: "Source", page: "p. {page}", helpful: "Was this helpful?",
      up: "Helpful", down: "Not helpful", thanks: "Thank you for your feedback!", retry: "Retry",
      offline: "Can't reach the server right now. Your message is not lost.", slow: "The server took too long. Your message is not lost.",
      server: "The server had a problem. Your message is not lost.", wait: "Too many messages: please wait {s} s and try again.",
      urgent: "Urgent", log: "Conversation", suggested: "Suggested questions", you: "You", bot: "Assistant",
      notSent: "not sent", unsent: "Your last message was not sent yet."
    }
  };

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif}",
    ".root{--accent:" + cssColor(data.color) + ";position:fixed;bottom:20px;" + (data.position === "left" ? "left" : "right") + ":20px;z-index:2147483000;font-size:15px;line-height:1.5;color:#1d2733}",
    ".launcher{width:58px;height:58px;border-radius:50%;border:0;background:var(--accent);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible,.log:focus-visible{outline:3px solid #f5a623;outline-offset:2px}",
    ".panel{position:absolute;bottom:72px;" + (data.position === "left" ? "left" : "right") + ":0;width:380px;max-width:calc(100vw - 40px);height:600px;max-height:calc(100vh - 110px);background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:6px;padding:10px 12px;background:var(--accent);color:#fff}",
    "h2{flex:1;margin:0;font-size:16px;font-weight:600}",
    "header button{background:rgba(255,255,255,.18);color:#fff;border:0;border-radius:6px;padding:5px 9px;cursor:pointer;font-size:13px}",
    ".close{font-size:18px;line-height:1}",
    ".log{position:relative;flex:1;overflow-y:auto;padding:12px;background:#f4f7f9}",
    ".msg{margin:0 0 12px;max-width:92%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}",
    ".msg p{margin:0 0 6px}.msg p:last-child{margin-bottom:0}",
    ".user{margin-left:auto;background:var(--accent);color:#fff;border-bottom-right-radius:3px}",
    ".user.failed{opacity:.75;border:2px dashed #c0392b}",
    ".bot{background:#fff;border:1px solid #dde4ea;border-bottom-left-radius:3px}",
    ".fallback{background:#fff8e6;border-color:#f0c36d}",
    ".urgent-banner{background:#c0392b;color:#fff;font-weight:600;padding:10px;border-radius:8px;margin-bottom:8px}",
    "blockquote{margin:8px 0;padding:6px 10px;border-left:4px solid var(--accent);background:#f1f6f8;border-radius:0 6px 6px 0}",
    "blockquote footer{margin-top:4px;font-size:13px;color:#4b5a68}",
    "a{color:#0b5c8a}",
    ".disclaimer{font-size:12.5px;color:#5d6b78;border-top:1px solid #e5eaee;padding-top:6px;margin-top:6px}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px;white-space:normal}",
    ".chip{border:1px solid var(--accent);background:#fff;color:#0b5c8a;border-radius:16px;padding:4px 10px;font-size:13px;cursor:pointer;text-align:left}",
    ".chip:hover{background:#eaf4f8}",
    ".rate{display:flex;align-items:center;gap:6px;margin-top:8px;font-size:13px;color:#5d6b78;white-space:normal}",
    ".rate button{border:1px solid #cfd8df;background:#fff;color:#4b5a68;border-radius:6px;cursor:pointer;padding:3px 8px;line-height:0}",
    ".rate button[aria-pressed=true]{background:#dff0e8;border-color:#2e8b57}",
    ".error{background:#fdecea;border:1px solid #e6a29b;color:#8a1f14;white-space:normal}",
    ".error button{margin-left:8px;border:0;background:#c0392b;color:#fff;border-radius:6px;padding:3px 10px;cursor:pointer}",
    ".error button:disabled{opacity:.5;cursor:default}",
    ".typing{padding:4px 14px;font-size:13px;color:#5d6b78;background:#f4f7f9}",
    ".typing[hidden]{display:none}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #dde4ea;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #b9c5cf;border-radius:8px;padding:8px;font-size:15px;min-height:42px;max-height:120px;color:#1d2733;background:#fff}",
    "form button{border:0;border-radius:8px;background:var(--accent);color:#fff;padding:0 16px;font-size:15px;cursor:pointer}",
    "form button:disabled{opacity:.6;cursor:default}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.root{bottom:12px;" + (data.position === "left" ? "left" : "right") + ":12px}",
    ".panel{position:fixed;inset:0;width:100vw;max-width:none;height:100%;max-height:none;border-radius:0}",
    ".root.open .launcher{display:none}}"
  ].join("\n");

  // ---------------------------------------------------------------- state
  var state = load();
  var lang = state.lang || pickLang(data.lang);
  var busy = false;

  // ---------------------------------------------------------------- DOM
  var host = document.createElement("faqbot-widget");
  var shadow = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = CSS;
  shadow.appendChild(style);

  var root = el("div", "root");
  var launcher = el("button", "launcher");
  launcher.type = "button";
  launcher.appendChild(icon("chat", 28));
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "faqbot-panel");

  var panel = el("div", "panel");
  panel.id = "faqbot-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "true");
  panel.setAttribute("aria-labelledby", "faqbot-title");

  var header = el("header");
  var title = el("h2");
  title.id = "faqbot-title";
  var newButton = button("new", "", reset);
  var closeButton = button("close", "\u00D7", close);
  header.append(title, newButton, closeButton);

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.tabIndex = 0;

  var typing = el("div", "typing");
  typing.setAttribute("role", "status");
  typing.hidden = true;

  var form = el("form");
  var label = el("label", "sr");
  label.htmlFor = "faqbot-input";
  var input = el("textarea");
  input.id = "faqbot-input";
  input.rows = 1;
  input.maxLength = MAX_CHARS;
  var sendButton = el("button");
  sendButton.type = "submit";
  form.append(label, input, sendButton);

  panel.append(header, log, typing, form);
  root.append(panel, launcher);
  shadow.appendChild(root);

  // ---------------------------------------------------------------- behaviour
  launcher.addEventListener("click", function () { panel.hidden ? open() : close(); });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); close(); }
    else if (e.key === "Tab") trapFocus(e);
  });

  applyLang();
  render();
  (document.body || document.documentElement).appendChild(host);

  window.FaqBot = { open: open, close: close, ask: function (q) { open(); send(String(q)); }, version: "1" };

  function open() {
    panel.hidden = false;
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    log.scrollTop = log.scrollHeight;
    input.focus();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function trapFocus(e) {
    var items = Array.prototype.filter.call(
      panel.querySelectorAll("button, a[href], textarea, [tabindex]:not([tabindex='-1'])"),
      function (node) { return !node.disabled && node.offsetParent !== null; });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], active = shadow.activeElement;
    if (e.shiftKey && (active === first || !panel.contains(active))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (active === last || !panel.contains(active))) { e.preventDefault(); first.focus(); }
  }

  function submit() {
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    input.style.height = "";
    send(text);
  }

  function send(text) {
    if (busy || !text) return;
    var item = { type: "user", text: text, pending: true };
    state.items.push(item);
    save();
    render();
    request(item);
  }

  function request(item) {
    busy = true;
    sendButton.disabled = true;
    typing.hidden = false;
    typing.textContent = t("typing");  // a change, so screen readers announce it
    post("/api/chat", { message: item.text, session_id: state.session_id || null })
      .then(function (res) {
        if (res.ok) {
          var reply = res.body;
          item.pending = false;
          state.session_id = reply.session_id;
          if (reply.lang === "zh" || reply.lang === "en") { lang = reply.lang; state.lang = lang; }
          state.items.push({ type: "bot", reply: reply });
          state.error = null;
        } else if (res.status === 422 || res.status === 413) {
          // The message itself was refused: give it back to edit.
          state.items.splice(state.items.indexOf(item), 1);
          input.value = item.text;
          state.error = { text: detail(res), retry: false };
        } else if (res.status === 429) {
          state.error = { text: t("wait").replace("{s}", res.retryAfter), retry: true, wait: res.retryAfter };
        } else {
          state.error = { text: res.status === 504 || res.status === 0 && res.timeout ? t("slow") : res.status ? t("server") : t("offline"), retry: true };
        }
      })
      .then(function () {
        busy = false;
        sendButton.disabled = false;
        typing.hidden = true;
        typing.textContent = "";
        save();
        applyLang();
        render();
      });
  }

  function retry() {
    var pending = lastPending();
    state.error = null;
    if (pending) request(pending); else render();
  }

  function reset() {
    state = { session_id: null, lang: lang, items: [], error: null };
    save();
    render();
    input.focus();
  }

  function rate(reply, rating, row) {
    post("/api/feedback", { reply_id: reply.reply_id, rating: rating }).then(function (res) {
      if (!res.ok) return;
      reply.rating = rating;
      save();
      renderRating(reply, row);
    });
  }

  // ---------------------------------------------------------------- rendering (text only)
  function render() {
    log.textContent = "";
    log.appendChild(welcome());
    state.items.forEach(function (item) {
      log.appendChild(item.type === "user" ? userMessage(item) : botMessage(item.reply));
    });
    var error = state.error || (lastPending() && !busy ? { text: t("unsent"), retry: true } : null);
    if (error) log.appendChild(errorMessage(error));
    // Show the newest reply from its start (the visitor reads down), else the end.
    var last = log.lastElementChild;
    log.scrollTop = last && last.classList.contains("bot") && last.offsetHeight > log.clientHeight
      ? last.offsetTop - 8 : log.scrollHeight;
  }

  function welcome() {
    var box = el("div", "msg bot welcome");
    box.appendChild(el("p", "", t("welcome")));
    var chips = el("div", "chips");
    chips.setAttribute("aria-label", t("suggested"));
    box.appendChild(chips);
    var cached = state.starters && state.starters[lang];
    if (cached) fillChips(chips, cached);
    else getJSON("/api/suggestions?lang=" + lang + "&k=4").then(function (body) {
      if (!body || !body.suggestions) return;
      state.starters = state.starters || {};
      state.starters[lang] = body.suggestions;
      fillChips(chips, body.suggestions);
    });
    return box;
  }

  function userMessage(item) {
    var box = el("div", "msg user" + (item.pending && !busy ? " failed" : ""));
    box.appendChild(el("span", "sr", t("you") + ": "));
    box.appendChild(document.createTextNode(item.text));
    if (item.pending && !busy) box.appendChild(el("span", "sr", " (" + t("notSent") + ")"));
    return box;
  }

  function botMessage(reply) {
    var box = el("div", "msg bot " + safeClass(reply.kind));
    box.appendChild(el("span", "sr", t("bot") + ": "));
    if (reply.alert) {
      var banner = el("div", "urgent-banner", reply.alert);
      banner.setAttribute("role", "alert");
      box.appendChild(banner);
    }
    if (reply.message) box.appendChild(el("p", "lead", reply.message));
    (reply.passages || []).forEach(function (passage) {
      var quote = el("blockquote");
      quote.appendChild(el("p", "", passage.text));
      var footer = el("footer", "", "\u2014 " + t("source") + ": ");
      var href = safeUrl(passage.url);
      if (href) {
        var link = el("a", "", passage.title || href);
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        footer.appendChild(link);
      } else {
        footer.appendChild(document.createTextNode(passage.title || ""));
      }
      if (passage.page) footer.appendChild(document.createTextNode(" \u00B7 " + t("page").replace("{page}", passage.page)));
      if (passage.date) footer.appendChild(document.createTextNode(" \u00B7 " + passage.date));
      quote.appendChild(footer);
      box.appendChild(quote);
    });
    if (reply.kind !== "smalltalk" && reply.disclaimer) box.appendChild(el("p", "disclaimer", reply.disclaimer));
    if (reply.suggestions && reply.suggestions.length) {
      var chips = el("div", "chips");
      chips.setAttribute("aria-label", t("suggested"));
      fillChips(chips, reply.suggestions);
      box.appendChild(chips);
    }
    if (reply.reply_id && reply.kind !== "smalltalk") {
      var row = el("div", "rate");
      renderRating(reply, row);
      box.appendChild(row);
    }
    return box;
  }

  function renderRating(reply, row) {
    row.textContent = "";
    row.appendChild(el("span", "", reply.rating ? t("thanks") : t("helpful")));
    ["up", "down"].forEach(function (rating) {
      var b = button("", null, function () { rate(reply, rating, row); });
      b.appendChild(icon(rating, 16));
      b.setAttribute("aria-label", t(rating));
      b.setAttribute("aria-pressed", String(reply.rating === rating));
      b.dataset.rating = rating;
      row.appendChild(b);
    });
  }

  function errorMessage(error) {
    var box = el("div", "msg error");
    box.setAttribute("role", "alert");
    box.appendChild(document.createTextNode(error.text));
    if (error.retry && lastPending()) {
      var again = button("retry", t("retry"), retry);
      if (error.wait) {
        again.disabled = true;
        setTimeout(function () { again.disabled = false; }, error.wait * 1000);
      }
      box.appendChild(again);
    }
    return box;
  }

  function fillChips(container, questions) {
    questions.forEach(function (q) {
      container.appendChild(button("chip", q, function () { send(q); }));
    });
  }

  function applyLang() {
    title.textContent = data.title || t("title");
    launcher.setAttribute("aria-label", t("open"));
    newButton.textContent = t("newChat");
    closeButton.setAttribute("aria-label", t("close"));
    log.setAttribute("aria-label", t("log"));
    label.textContent = t("inputLabel");
    input.placeholder = t("placeholder");
    sendButton.textContent = t("send");
  }

  // ---------------------------------------------------------------- network
  function post(path, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    return fetch(API + path, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(body), signal: controller ? controller.signal : undefined,
      credentials: "omit", mode: "cors"
    }).then(function (res) {
      return res.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        return { ok: res.ok && (res.status === 204 || parsed !== null), status: res.status, body: parsed,
                 retryAfter: parseInt(res.headers.get("retry-after"), 10) || 10 };
      });
    }, function (err) {
      return { ok: false, status: 0, timeout: err && err.name === "AbortError" };
    }).then(function (res) { clearTimeout(timer); return res; });
  }

  function getJSON(path) {
    return fetch(API + path, { credentials: "omit", mode: "cors" })
      .then(function (res) { return res.ok ? res.json() : null; })
      .catch(function () { return null; });
  }

  // ---------------------------------------------------------------- helpers
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function icon(name, size) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", size);
    svg.setAttribute("height", size);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function button(className, text, onClick) {
    var b = el("button", className, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function t(key) { return STRINGS[lang][key]; }

  function detail(res) {
    var d = res.body && res.body.detail;
    return typeof d === "string" ? d : t("server");
  }

  function lastPending() {
    var last = state.items[state.items.length - 1];
    return last && last.type === "user" && last.pending ? last : null;
  }

  function safeUrl(url) {
    if (typeof url !== "string") return null;
    try {
      var parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) { return null; }
  }

  function safeClass(kind) { return /^[a-z]+$/.test(kind || "") ? kind : ""; }

  function cssColor(value) { return /^#[0-9a-fA-F]{3,8}$/.test(value || "") ? value : "#0b7a8a"; }

  function pickLang(wanted) {
    if (wanted === "zh" || wanted === "en") return wanted;
    var nav = (navigator.languages && navigator.languages[0]) || navigator.language || "";
    return /^zh/i.test(nav) ? "zh" : "en";
  }

  function load() {
    var empty = { session_id: null, lang: null, items: [], error: null };
    try {
      var saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
      if (saved && Array.isArray(saved.items)) { saved.error = null; return saved; }
    } catch (e) { /* storage blocked or corrupt: start fresh */ }
    return empty;
  }

  function save() {
    state.items = state.items.slice(-MAX_ITEMS);
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify({ session_id: state.session_id, lang: state.lang, items: state.items }));
    } catch (e) { /* storage full or blocked: the conversation still works */ }
  }
})();
