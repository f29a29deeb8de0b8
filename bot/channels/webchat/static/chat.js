/* Baken web chat: the page side. No framework, no third-party code; text from the server is already escaped. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("baken-data").textContent);
  var T = data.texts;
  var store = window.sessionStorage;
  var KEY_TOKEN = "baken.token";
  var KEY_LOG = "baken.log";
  var LOG_LIMIT = 300;
  // The tab keeps its copy of the transcript sealed (AES-GCM) with a key the server derives from the
  // conversation's own key and hands over on each hello; it is never stored. Erasing the conversation on the
  // server makes any copy of this tab's storage unreadable. Without WebCrypto nothing is kept.
  var SEAL = (window.crypto && window.crypto.subtle) ? window.crypto.subtle : null;
  var SEALED_FOR = new TextEncoder().encode("baken transcript v1");

  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var form = document.getElementById("composer");
  var box = document.getElementById("message");
  var composerError = document.getElementById("composer-error");

  var token = store.getItem(KEY_TOKEN);
  var transcript = [];
  var vault = null;  // the CryptoKey of this conversation's transcript, from the server's session frame
  var restored = false;
  var saving = Promise.resolve();
  var inbox = Promise.resolve();  // frames are handled one after another, also while a key is imported
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

  function toBase64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text);
  }
  function fromBase64(text) {
    var plain = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) { bytes[i] = plain.charCodeAt(i); }
    return bytes;
  }
  function dropTranscript() {
    try { store.removeItem(KEY_LOG); } catch (e) { /* nothing kept */ }
  }
  function saveTranscript() {
    if (transcript.length > LOG_LIMIT) { transcript = transcript.slice(-LOG_LIMIT); }
    if (!transcript.length) { dropTranscript(); return; }
    var key = vault;
    if (!key || !SEAL) { return; }
    var plain = new TextEncoder().encode(JSON.stringify(transcript));
    saving = saving.then(function () {
      var iv = crypto.getRandomValues(new Uint8Array(12));
      return SEAL.encrypt({ name: "AES-GCM", iv: iv, additionalData: SEALED_FOR }, key, plain).then(function (sealed) {
        if (exiting || key !== vault) { return; }  // erased, switched or leaving meanwhile: keep nothing
        store.setItem(KEY_LOG, JSON.stringify({ v: 1, iv: toBase64(iv), data: toBase64(new Uint8Array(sealed)) }));
      });
    }).catch(function () { /* storage full or refused: the screen still shows it */ });
  }
  function openTranscript(frame) {
    // the tab's sealed copy, opened with this conversation's key; null when there is none or it will not open
    vault = null;
    if (!SEAL || !frame.vault) { return Promise.resolve(null); }
    return SEAL.importKey("raw", fromBase64(frame.vault), "AES-GCM", false, ["encrypt", "decrypt"]).then(function (key) {
      vault = key;
      var kept = store.getItem(KEY_LOG);
      if (!kept || frame["new"]) { return null; }
      var sealed = JSON.parse(kept);
      return SEAL.decrypt({ name: "AES-GCM", iv: fromBase64(sealed.iv), additionalData: SEALED_FOR }, key,
                          fromBase64(sealed.data)).then(function (plain) {
        var entries = JSON.parse(new TextDecoder().decode(plain));
        return Array.isArray(entries) ? entries : null;
      });
    }).catch(function () { return null; });
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
    log.textContent = "";
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
  function relabels(locale) {
    return !!locale && locale !== data.lang && data.locales.indexOf(locale) >= 0;
  }
  function relabel(locale) {
    if (!relabels(locale)) { return false; }
    var params = new URLSearchParams(location.search);
    params.set("lang", locale);
    location.replace(location.pathname + "?" + params.toString());
    return true;
  }
  function receive(frame) {
    inbox = inbox.then(function () { return onFrame(frame); }).catch(function () { /* next frame */ });
  }
  function onSession(frame) {
    token = frame.token;
    store.setItem(KEY_TOKEN, token);
    var hadCopy = !!store.getItem(KEY_LOG);
    return openTranscript(frame).then(function (kept) {
      if (exiting) { return; }
      helloDone = true;
      if (frame["new"]) {
        if (transcript.length || hadCopy) { transcript = []; dropTranscript(); log.textContent = ""; }
      } else if (!restored && kept) {
        transcript = kept.concat(transcript);  // what was tapped before the key came stays, after the copy
        redraw();
      } else if (!restored && hadCopy && !transcript.length) {
        // a copy that will not open (erased elsewhere, another key): show where the conversation is
        dropTranscript();
        transmit({ type: "hello", token: token, lang: data.lang, fresh: true });
      }
      restored = true;
      saveTranscript();
      resend();
      if (transport === "http") { startPolling(); }
    });
  }
  function onFrame(frame) {
    if (exiting) { return; }
    if (frame.type === "session") { return onSession(frame); }
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
      if (relabels(frame.locale)) {
        return saving.then(function () { relabel(frame.locale); });  // the sealed copy first, then reload
      }
      moveFocus(lastDiv);
      showNew(firstDiv);
      return;
    }
    if (frame.type === "erased") {
      unanswered = [];
      token = null;
      vault = null;
      restored = false;
      transcript = [];
      seen = {};
      store.removeItem(KEY_TOKEN);
      dropTranscript();
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
      receive(frame);
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
    var fresh = transcript.length === 0 && !(SEAL && store.getItem(KEY_LOG));
    transmit({ type: "hello", token: token, lang: data.lang, fresh: fresh });
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
      (answer.frames || []).forEach(receive);
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
        (answer.frames || []).forEach(receive);
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
      vault = null;
      restored = false;
      dropTranscript();
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
  if (!SEAL) { dropTranscript(); }  // nothing to open a copy with: the server shows where we are instead
  connect();
})();
