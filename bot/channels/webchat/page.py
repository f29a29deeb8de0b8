"""The chat page and the widget script, in the person's language: all text from the catalogs, no inline code.

The page carries its strings for the script in a JSON data block (never executed, so the CSP allows it)
and the script and styles as files of this package: no CDN, no fonts, no analytics.
"""

from __future__ import annotations

import html
import json

from content.i18n import LOCALES, Translate, translator
from flows.questions import LANGUAGES


def _json_block(value: object) -> str:
    """JSON safe inside a <script type="application/json">: no way to close the element early."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def script_texts(t: Translate) -> dict[str, str]:
    """What the script says itself (status, errors, its own labels)."""
    return {
        "connecting": t("Connecting…"),
        "connected": t("Connected."),
        "reconnecting": t("The connection was lost. Reconnecting…"),
        "paused": t("The chat paused after a quiet while. Your next message reconnects it."),
        "too_long": t("That message is too long. Please shorten it or send it in parts; your text is still in "
                      "the box."),
        "slow_down": t("You are sending very quickly. Please wait a moment; your text is still in the box."),
        "failed": t("Something went wrong on our side. Your text is still in the box; please try again."),
        "unavailable": t("Baken is down for the moment and could not keep your message. It is still in the box: "
                         "please send it again in a few minutes."),
        "bad_code": t("That code is not valid, has expired or was already used."),
        "code_tries": t("Too many tries. Please wait a few minutes and try again."),
        "you": t("You:"),
        "baken": t("Baken:"),
        "urgent": t("Emergency numbers:"),
        "erased": t("This conversation is erased. Nothing of it is left on this device or on our server."),
    }


def _words(t: Translate) -> dict[str, str]:
    """The page's own words, escaped for HTML."""
    words = {
        "title": t("Baken – an anonymous chat about a worry"),
        "skip_to_the_message_box": t("Skip to the message box"),
        "tagline": t("Anonymous chat about a worry about a young person"),
        "quick_exit": t("Quick exit"),
        "exit_hint": t("Leaves this page at once. You can also press Escape twice."),
        "emergency_numbers": t("Emergency numbers"),
        "in_danger_now": t("In danger now?"),
        "call_112_emergency": t("Call 112, emergency"),
        "call_101_police": t("Call 101, police"),
        "all_emergency_numbers": t("All emergency numbers"),
        "conversation_controls": t("Conversation controls"),
        "help": t("Help"),
        "back": t("Back"),
        "start_again": t("Start again"),
        "end_and_erase": t("End and erase"),
        "continue_on_another_device": t("Continue on another device"),
        "language": t("Language"),
        "privacy_in_short": t("Privacy in short"),
        "privacy_1": t("This chat is anonymous: no name, no account, no phone number. It is not the "
            "police and passes nothing on without your explicit yes."),
        "privacy_2": t("What you write is stored encrypted, only as long as needed. “End and erase” "
            "deletes it at once. Closing this tab leaves nothing on this device."),
        "privacy_more": t("Everything Baken keeps, and for how long"),
        "conversation": t("Conversation"),
        "your_message": t("Your message"),
        "send": t("Send"),
        "resume_open": t("I have a code to continue a conversation"),
        "your_code": t("Your code"),
        "continue": t("Continue"),
        "your_code_to_continue": t("Your code to continue"),
        "code_explained": t("Write this code down: it is shown only once. With it you can continue this "
            "conversation on another device within 30 days, once. Anyone with the code can "
            "read on, so keep it to yourself."),
        "close": t("Close"),
        "what_baken_keeps": t("What Baken keeps"),
    }
    return {key: html.escape(value) for key, value in words.items()}


def chat_page(lang: str, *, embedded: bool = False, exit_url: str = "https://www.google.be/") -> str:
    t = translator(lang)
    e = html.escape
    w = _words(t)
    languages = "".join(
        f'<option value="{code}"{" selected" if code == lang else ""} lang="{code}">{e(name)}</option>'
        for code, name in LANGUAGES
    )
    data = _json_block({"lang": lang, "locales": list(LOCALES), "texts": script_texts(t), "embedded": embedded,
                        "exit": exit_url})
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{w['title']}</title>
<link rel="stylesheet" href="/chat/static/chat.css">
<link rel="icon" href="/chat/static/icon.svg" type="image/svg+xml">
<script type="application/json" id="baken-data">{data}</script>
<script src="/chat/static/chat.js" defer></script>
</head>
<body>
<a class="skip" href="#message">{w['skip_to_the_message_box']}</a>
<div class="bar">
<header class="top">
  <div class="brand"><h1>Baken</h1>
    <p class="tagline">{w['tagline']}</p></div>
  <button type="button" id="quick-exit" class="exit" aria-describedby="exit-hint">{w['quick_exit']}</button>
  <p id="exit-hint" class="hint">{w['exit_hint']}</p>
</header>
<nav class="sos" aria-label="{w['emergency_numbers']}">
  <span>{w['in_danger_now']}</span>
  <a class="tel" href="tel:112" aria-label="{w['call_112_emergency']}">112</a>
  <a class="tel" href="tel:101" aria-label="{w['call_101_police']}">101</a>
  <button type="button" class="link" data-command="urgent">{w['all_emergency_numbers']}</button>
</nav>
</div>
<main id="main">
  <section class="tools" aria-label="{w['conversation_controls']}">
    <button type="button" data-command="help">{w['help']}</button>
    <button type="button" data-command="back">{w['back']}</button>
    <button type="button" data-command="restart">{w['start_again']}</button>
    <button type="button" data-command="forget" class="danger">{w['end_and_erase']}</button>
    <button type="button" id="code-button">{w['continue_on_another_device']}</button>
    <label class="lang">{w['language']}
      <select id="language">{languages}</select>
    </label>
  </section>
  <details class="privacy">
    <summary>{w['privacy_in_short']}</summary>
    <p>{w['privacy_1']}</p>
    <p>{w['privacy_2']}</p>
    <p><a href="/privacy?lang={lang}" target="_blank" rel="noopener">
      {w['privacy_more']}</a></p>
  </details>
  <div id="log" class="log" role="log" aria-live="polite" aria-relevant="additions"
       aria-label="{w['conversation']}" tabindex="0"></div>
  <p id="status" class="status" role="status"></p>
  <form id="composer" class="composer" autocomplete="off">
    <label for="message">{w['your_message']}</label>
    <div class="row">
      <textarea id="message" name="message" rows="2" maxlength="4000" aria-describedby="composer-error"></textarea>
      <button type="submit" id="send">{w['send']}</button>
    </div>
    <p id="composer-error" class="error" role="alert"></p>
  </form>
  <details class="resume" id="resume">
    <summary>{w['resume_open']}</summary>
    <form id="resume-form" autocomplete="off">
      <label for="resume-code">{w['your_code']}</label>
      <input id="resume-code" name="code" autocapitalize="characters" spellcheck="false" maxlength="20"
             aria-describedby="resume-error">
      <button type="submit">{w['continue']}</button>
      <p id="resume-error" class="error" role="alert"></p>
    </form>
  </details>
</main>
<dialog id="code-dialog" aria-labelledby="code-title">
  <h2 id="code-title">{w['your_code_to_continue']}</h2>
  <p>{w['code_explained']}</p>
  <p class="code" id="code-value"></p>
  <form method="dialog"><button type="submit">{w['close']}</button></form>
</dialog>
<footer><a href="/privacy?lang={lang}">{w['what_baken_keeps']}</a></footer>
</body>
</html>
"""


def _widget_words(t: Translate) -> dict[str, str]:
    return {"open": t("Chat with Baken"), "close": t("Close the chat"),
            "title": t("Baken – an anonymous chat about a worry")}


def widget_script(origin: str) -> str:
    """The embeddable snippet: a button in a corner opening the chat in a frame; its words in four languages."""
    texts = {code: _widget_words(translator(code)) for code in LOCALES}
    config = json.dumps({"origin": origin, "texts": texts}, ensure_ascii=False)
    return f"(function(config){{\n{WIDGET_BODY}\n}})({config});\n"


WIDGET_BODY = """
  "use strict";
  if (window.__bakenWidget) { return; }
  window.__bakenWidget = true;
  var lang = (document.documentElement.lang || navigator.language || "nl").slice(0, 2).toLowerCase();
  var words = config.texts[lang] || config.texts.nl;
  if (!config.texts[lang]) { lang = "nl"; }
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = words.open;
  button.setAttribute("aria-expanded", "false");
  var s = button.style;
  s.position = "fixed"; s.right = "16px"; s.bottom = "16px"; s.zIndex = "2147483000";
  s.padding = "12px 18px"; s.border = "0"; s.borderRadius = "24px"; s.font = "600 16px/1.2 system-ui, sans-serif";
  s.background = "#1d4f91"; s.color = "#ffffff"; s.cursor = "pointer"; s.boxShadow = "0 2px 8px rgba(0,0,0,.3)";
  var frame = null;
  function close() {
    if (frame) { frame.remove(); frame = null; }
    button.textContent = words.open;
    button.setAttribute("aria-expanded", "false");
  }
  function open() {
    frame = document.createElement("iframe");
    frame.src = config.origin + "/?embed=1&lang=" + encodeURIComponent(lang);
    frame.title = words.title;
    var f = frame.style;
    f.position = "fixed"; f.right = "16px"; f.bottom = "72px"; f.zIndex = "2147483000";
    f.width = "min(400px, calc(100vw - 32px))"; f.height = "min(640px, calc(100vh - 96px))";
    f.border = "1px solid #5a6472"; f.borderRadius = "12px"; f.background = "#ffffff";
    document.body.appendChild(frame);
    button.textContent = words.close;
    button.setAttribute("aria-expanded", "true");
    frame.focus();
  }
  button.addEventListener("click", function () { if (frame) { close(); } else { open(); } });
  window.addEventListener("message", function (event) {
    if (event.origin !== config.origin || !event.data || event.data.baken !== "exit") { return; }
    close();
    window.location.replace(event.data.to);
  });
  document.body.appendChild(button);
"""
