/* Baken web chat: the page side. No framework, no third-party code; text from the server is already escaped. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("baken-data").textContent);
  var T = data.texts;
  var store = window.sessionStorage;
  var KEY_TOKEN = "baken.token";
  var KEY_LOG = "baken.log";
  var LOG_LIMIT = 300;

  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var form = document.getElementById("composer");
  var box = document.getElementById("message");
  var composerError = document.getElementById("composer-error");

  var token = store.getItem(KEY_TOKEN);
  var transcript = readTranscript();
  var seen = {};
  var ws = null;
  var transport = new URLSearchParams(location.search).get("transport") === "http" ? "http" : "ws";
  var opened = false;
  var failures = 0;
  var paused = false;
  var helloDone = false;
  var unanswered = [];  // frames sent and not yet answered: sent again (same id) after a reconnect
  var drafts = {};  // typed text per frame id, put back in the box if the server refuses it
  var polling = false;
  var focusNext = false;
  var exiting = false;

  function readTranscript() {
    try { return JSON.parse(store.getItem(KEY_LOG) || "[]"); } catch (e) { return []; }
  }
  function saveTranscript() {
    if (transcript.length > LOG_LIMIT) { transcript = transcript.slice(-LOG_LIMIT); }
    try { store.setItem(KEY_LOG, JSON.stringify(transcript)); } catch (e) { /* full: the screen still shows it */ }
  }
  function rid() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function say(text) { statusLine.textContent = text; }

  // ------------------------------------------------------------------ drawing messages
  var counter = 0;
  function disableOld() {
    var olds = log.querySelectorAll(".choices button, .checks input, .checks button");
    for (var i = 0; i < olds.length; i++) { olds[i].disabled = true; }
  }
  function drawMine(text) {
    var div = document.createElement("div");
    div.className = "msg me";
    var who = document.createElement("span");
    who.className = "sr";
    who.textContent = T.you + " ";
    div.appendChild(who);
    div.appendChild(document.createTextNode(text));
    log.appendChild(div);
  }
  function drawBot(item, live) {
    counter += 1;
    var div = document.createElement("div");
    div.className = "msg bot " + (item.kind || "text") + (item.urgent ? " urgent" : "");
    var who = document.createElement("span");
    who.className = "sr";
    who.textContent = (item.urgent ? T.urgent : T.baken) + " ";
    div.appendChild(who);
    var body = document.createElement("div");
    body.className = "body";
    body.id = "m" + counter;
    body.innerHTML = item.html;  // built and escaped by the server (bot/channels/webchat/render.py)
    div.appendChild(body);
    var hasControls = (item.buttons && item.buttons.length) || (item.checks && item.checks.length);
    if (hasControls && live) { disableOld(); }
    if (item.checks && item.checks.length) {
      div.appendChild(drawChecks(item, body.id));
    } else if (item.buttons && item.buttons.length) {
      div.appendChild(drawButtons(item.buttons, body.id));
    }
    log.appendChild(div);
    if (!live && hasControls) { disableOld(); }
    return div;
  }
  function drawButtons(buttons, labelledBy) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-labelledby", labelledBy);
    buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = b.label;
      button.dataset.choice = b.data;
      if (b.data === "back") { button.className = "secondary"; }
      button.addEventListener("click", function () {
        focusNext = true;
        act({ type: "choice", data: b.data }, b.label);
      });
      group.appendChild(button);
    });
    return group;
  }
  function drawChecks(item, labelledBy) {
    var set = document.createElement("fieldset");
    set.className = "checks";
    set.setAttribute("aria-labelledby", labelledBy);
    var boxes = [];
    item.checks.forEach(function (c, i) {
      var id = labelledBy + "-c" + i;
      var row = document.createElement("div");
      row.className = "check";
      var input = document.createElement("input");
      input.type = "checkbox";
      input.id = id;
      input.value = c.value;
      input.checked = !!c.checked;
      input.dataset.initial = c.checked ? "1" : "0";
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = c.label;
      row.appendChild(input);
      row.appendChild(label);
      set.appendChild(row);
      boxes.push({ input: input, label: c.label });
    });
    var group = document.createElement("div");
    group.className = "choices";
    (item.buttons || []).forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = b.label;
      button.dataset.choice = b.data;
      if (b.data === "back") { button.className = "secondary"; }
      button.addEventListener("click", function () {
        focusNext = true;
        if (b.data !== "go") { act({ type: "choice", data: b.data }, b.label); return; }
        var toggle = [];
        var chosen = [];
        boxes.forEach(function (x) {
          if (x.input.checked !== (x.input.dataset.initial === "1")) { toggle.push(x.input.value); }
          if (x.input.checked) { chosen.push(x.label); }
        });
        act({ type: "ticks", toggle: toggle, data: "go" }, chosen.length ? chosen.join("; ") : b.label);
      });
      group.appendChild(button);
    });
    set.appendChild(group);
    return set;
  }
  function scrollDown() {
    var reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    log.scrollTo({ top: log.scrollHeight, behavior: reduce ? "auto" : "smooth" });
  }
  function showNew(div) {
    // the start of what just arrived: a long article is read from its title, not from its end
    if (!div || !div.previousElementSibling) { return; }  // the first message: the page opens at its top
    var reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    div.scrollIntoView({ block: "start", behavior: reduce ? "auto" : "smooth" });
  }
  function moveFocus(div) {
    if (!focusNext) { return; }
    focusNext = false;
    var control = div && div.querySelector("input:not([disabled]), button:not([disabled])");
    (control || box).focus({ preventScroll: true });
  }

  function redraw() {
    transcript.forEach(function (entry) {
      if (entry.who === "me") { drawMine(entry.text); } else { drawBot(entry.item, false); }
    });
    var last = log.querySelectorAll(".msg.bot");
    if (last.length) {
      var controls = last[last.length - 1].querySelectorAll("input, button");
      for (var i = 0; i < controls.length; i++) { controls[i].disabled = false; }
    }
    scrollDown();
  }

  // ------------------------------------------------------------------ frames from the server
  function relabel(locale) {
    if (!locale || locale === data.lang || data.locales.indexOf(locale) < 0) { return false; }
    var params = new URLSearchParams(location.search);
    params.set("lang", locale);
    location.replace(location.pathname + "?" + params.toString());
    return true;
  }
  function onFrame(frame) {
    if (exiting) { return; }
    if (frame.type === "session") {
      token = frame.token;
      store.setItem(KEY_TOKEN, token);
      helloDone = true;
      if (frame["new"] && transcript.length) { transcript = []; saveTranscript(); log.textContent = ""; }
      resend();
      if (transport === "http") { startPolling(); }
      return;
    }
    if (frame.type === "messages") {
      answered(frame);
      var lastDiv = null;
      var firstDiv = null;
      (frame.items || []).forEach(function (item) {
        if (item.key && seen[item.key]) { return; }
        if (item.key) { seen[item.key] = true; }
        lastDiv = drawBot(item, true);
        firstDiv = firstDiv || lastDiv;
        transcript.push({ who: "bot", item: item });
      });
      saveTranscript();
      if (frame.ack && frame.ack.length) {
        transmit({ type: "ack", ids: frame.ack });
        // an acknowledged row is deleted and never sent again; SQLite may give its id to a later row
        Object.keys(seen).forEach(function (key) {
          if (frame.ack.indexOf(parseInt(key.split(".")[0], 10)) >= 0) { delete seen[key]; }
        });
      }
      if (relabel(frame.locale)) { return; }
      moveFocus(lastDiv);
      showNew(firstDiv);
      return;
    }
    if (frame.type === "erased") {
      unanswered = [];
      token = null;
      transcript = [];
      seen = {};
      store.removeItem(KEY_TOKEN);
      store.removeItem(KEY_LOG);
      log.textContent = "";
      var div = null;
      (frame.items || []).forEach(function (item) { div = drawBot(item, true); });
      say(T.erased);
      moveFocus(div);
      showNew(div);
      return;
    }
    if (frame.type === "code") {
      answered(frame);
      document.getElementById("code-value").textContent = frame.code;
      document.getElementById("code-dialog").showModal();
      return;
    }
    if (frame.type === "error") {
      answered(frame);
      var text = T[frame.reason] || T.failed;
      composerError.textContent = text;
      if (frame.id && drafts[frame.id] !== undefined && !box.value) { box.value = drafts[frame.id]; }
      return;
    }
  }
  function answered(frame) {
    var id = frame.re || frame.id;
    if (!id) { return; }
    unanswered = unanswered.filter(function (f) { return f.id !== id; });
    if (frame.type !== "error") { delete drafts[id]; }
  }

  // ------------------------------------------------------------------ talking to the server
  function wsUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat/ws";
  }
  function connect() {
    if (transport === "http") { hello(); return; }
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) { return; }
    say(T.connecting);
    paused = false;
    helloDone = false;
    var socket = new WebSocket(wsUrl());
    ws = socket;
    socket.onopen = function () {
      opened = true;
      failures = 0;
      say(T.connected);
      hello();
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(frame);
    };
    socket.onclose = function (event) {
      if (ws !== socket || exiting) { return; }
      ws = null;
      if (event.code === 4000) { paused = true; say(T.paused); return; }
      failures += 1;
      if (!opened && failures >= 2) { transport = "http"; hello(); return; }  // WebSockets blocked here
      say(T.reconnecting);
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, failures)));
    };
  }
  function hello() {
    transmit({ type: "hello", token: token, lang: data.lang, fresh: transcript.length === 0 });
  }
  function resend() {
    unanswered.forEach(function (frame) { transmit(frame); });
  }
  function transmit(frame) {
    if (transport === "http") { httpSend(frame); return; }
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return; }
    connect();
  }
  function act(frame, shown) {
    frame.id = rid();
    composerError.textContent = "";
    if (shown) {
      drawMine(shown);
      transcript.push({ who: "me", text: shown });
      saveTranscript();
      scrollDown();
    }
    if (frame.type !== "ack") { unanswered.push(frame); }
    if (paused || (transport === "ws" && !(ws && ws.readyState === WebSocket.OPEN))) { connect(); return; }
    if (!helloDone) { return; }  // sent after the hello is answered
    transmit(frame);
  }
  function post(path, body) {
    return fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      cache: "no-store", credentials: "omit"
    }).then(function (r) { return r.json(); });
  }
  function httpSend(frame) {
    post("/chat/send", { token: token, lang: data.lang, frame: frame }).then(function (answer) {
      (answer.frames || []).forEach(onFrame);
    }).catch(function () {
      say(T.reconnecting);
      setTimeout(function () { transmit(frame); }, 2000);
    });
  }
  function startPolling() {
    if (polling) { return; }
    polling = true;
    (function loop() {
      if (!token || exiting) { polling = false; return; }
      post("/chat/poll", { token: token, lang: data.lang }).then(function (answer) {
        (answer.frames || []).forEach(onFrame);
        loop();
      }).catch(function () { setTimeout(loop, 3000); });
    })();
  }

  // ------------------------------------------------------------------ controls
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value;
    if (!text.trim()) { return; }
    var frame = { type: "text", text: text };
    box.value = "";
    act(frame, text);
    drafts[frame.id] = text;
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  var commands = document.querySelectorAll("[data-command]");
  Array.prototype.forEach.call(commands, function (button) {
    button.addEventListener("click", function () {
      focusNext = true;
      act({ type: "command", name: button.dataset.command }, button.textContent);
    });
  });
  document.getElementById("language").addEventListener("change", function (event) {
    var select = event.target;
    act({ type: "language", lang: select.value }, select.options[select.selectedIndex].textContent);
  });
  document.getElementById("code-button").addEventListener("click", function () { act({ type: "code" }, null); });
  document.getElementById("resume-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("resume-code");
    var error = document.getElementById("resume-error");
    post("/chat/resume", { code: input.value }).then(function (answer) {
      if (!answer.token) { error.textContent = T[answer.error] || T.bad_code; return; }
      error.textContent = "";
      input.value = "";
      document.getElementById("resume").open = false;
      token = answer.token;
      store.setItem(KEY_TOKEN, token);
      transcript = [];
      seen = {};
      saveTranscript();
      log.textContent = "";
      if (ws) { var old = ws; ws = null; old.close(); }
      connect();
    }).catch(function () { error.textContent = T.failed; });
  });

  // ------------------------------------------------------------------ quick exit
  function quickExit() {
    exiting = true;
    try { store.clear(); } catch (e) { /* nothing to clear */ }
    if (ws) { try { ws.close(); } catch (e) { /* leaving anyway */ } }
    log.textContent = "";
    if (window.parent !== window) { window.parent.postMessage({ baken: "exit", to: data.exit }, "*"); }
    location.replace(data.exit);
  }
  document.getElementById("quick-exit").addEventListener("click", quickExit);
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    if (now - lastEscape < 1500) { quickExit(); return; }
    lastEscape = now;
  });

  if (data.embedded) { document.body.classList.add("embedded"); }
  redraw();
  connect();
})();
