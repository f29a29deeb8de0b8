// Baken dashboard: live queue and chat over server-sent events. No inline script, no third-party code.
// Every text from the server is inserted with textContent, never as HTML.
"use strict";

function csrfToken() {
  const main = document.getElementById("main");
  return main ? main.dataset.csrf : "";
}

function liveQueue(box) {
  const source = new EventSource(box.dataset.live);
  let busy = false;
  source.addEventListener("queue", async () => {
    if (busy) return;
    busy = true;
    try {
      // X-Live: the page refreshing itself is not activity; it does not keep an idle session alive
      const response = await fetch(box.dataset.rows, { credentials: "same-origin", headers: { "X-Live": "1" } });
      if (response.ok) {
        // the rows come rendered (and escaped) by the server's own template
        const html = await response.text();
        const doc = new DOMParser().parseFromString("<div>" + html + "</div>", "text/html");
        box.replaceChildren(...doc.body.firstChild.childNodes);
      }
    } finally {
      busy = false;
    }
  });
}

function appendLine(chat, line) {
  if (document.querySelector(`#chat li[data-id="${line.id}"]`)) return;
  const li = document.createElement("li");
  li.className = "from-" + (line.sender === "person" ? "person" : "counsellor");
  li.dataset.id = String(line.id);
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = (line.sender === "person" ? chat.dataset.person : chat.dataset.counsellor) + " · " + line.at;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = line.text;
  li.append(who, text);
  chat.append(li);
  li.scrollIntoView({ block: "nearest" });
}

function liveChat(chat) {
  const source = new EventSource(chat.dataset.live);
  // a form on its way (claim, close…) navigates by itself: a live reload must not overtake it
  document.addEventListener("submit", (event) => {
    if (event.target.id !== "reply") source.close();
  });
  source.addEventListener("line", (event) => appendLine(chat, JSON.parse(event.data)));
  source.addEventListener("status", (event) => {
    const status = JSON.parse(event.data).status;
    const line = document.getElementById("status-line");
    if (line && line.dataset.status !== status) window.location.reload();
  });
  const gone = (why) => {
    source.close();
    const note = document.getElementById(why);
    if (note) note.hidden = false;
    if (why === "taken") document.getElementById("claim")?.closest("form")?.remove();  // moot now
    for (const form of document.querySelectorAll("form[action*='/tickets/']")) {
      for (const control of form.elements) control.disabled = true;
    }
  };
  source.addEventListener("gone", (event) => gone(JSON.parse(event.data).why));
  // refused outright (the ticket changed before the stream opened): the browser gives up; say so
  source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) gone("gone"); });
}

function replyByFetch(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const area = form.querySelector("textarea");
    if (!area.value.trim()) return;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-CSRF-Token": csrfToken(), "X-Requested-With": "fetch" },
        credentials: "same-origin",
      });
      if (response.ok) {
        area.value = "";
      } else {
        form.submit();  // the server's own error page says what went wrong
      }
    } finally {
      button.disabled = false;
      area.focus();
    }
  });
  const area = form.querySelector("textarea");
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const queue = document.getElementById("queue");
  if (queue) liveQueue(queue);
  const chat = document.getElementById("chat");
  if (chat && chat.dataset.live) liveChat(chat);
  const reply = document.getElementById("reply");
  if (reply) replyByFetch(reply);
  for (const select of document.querySelectorAll("select[data-fill]")) {
    select.addEventListener("change", () => {
      const target = document.getElementById(select.dataset.fill);
      if (target && select.value) { target.value = select.value; target.focus(); }
    });
  }
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
});
