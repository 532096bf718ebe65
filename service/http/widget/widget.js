/*
 * Footnote chat widget: one self-contained file, no build step.
 *
 *   <script src="https://HOST/widget.js" data-footnote-key="SITE_KEY" async></script>
 *
 * Options (data- attributes on that script tag): data-footnote-title, -placeholder, -accent, -position
 * (bottom-right | bottom-left), -open (start open), -target (CSS selector: render inline into that element
 * instead of a floating launcher), -link-hosts (hosts that source links may point to; default: this page's host).
 * The API is the one that served this file: its URL is derived from the script's own src.
 *
 * Safety: everything that comes from the model or from documents is rendered with textContent, never as HTML.
 * There is deliberately no markdown rendering: a cited answer is plain sentences, and markdown is how a
 * poisoned document or reply smuggles images and links (an image is a request to whatever host it names).
 * The widget never creates <img>, and creates a link only for an http(s) URL whose host is in the allow-list.
 * Styles live in a shadow root, so the page's CSS cannot break the widget and the widget's cannot leak out.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) {
    script = document.querySelector("script[data-footnote-key], script[src$='/widget.js']");
  }
  if (!script || script.getAttribute("data-footnote-mounted")) {
    return;
  }
  script.setAttribute("data-footnote-mounted", "true");

  var STORAGE_VERSION = 1;
  var MAX_HISTORY_MESSAGES = 20; // the API's default FOOTNOTE_MAX_HISTORY_TURNS
  var MAX_TURN_CHARS = 4000;
  var MAX_QUESTION_CHARS = 1000;
  var ABSTAINED_NOTE = "The articles don't say. Try asking about something they cover.";
  var QUOTES_KEPT = "The quotes above are from the sources, checked before they were shown.";
  var ids = 0;

  function option(name, fallback) {
    var value = script.getAttribute("data-footnote-" + name);
    return value === null || value.trim() === "" ? fallback : value.trim();
  }

  function flag(name) {
    var value = script.getAttribute("data-footnote-" + name);
    return value !== null && /^(|true|1|yes|open)$/i.test(value.trim());
  }

  function safeColour(value, fallback) {
    return value && window.CSS && CSS.supports && CSS.supports("color", value) ? value : fallback;
  }

  var apiBase = new URL(".", script.src).href;
  var config = {
    key: option("key", ""),
    title: option("title", "Ask the articles"),
    placeholder: option("placeholder", "Ask a question about these articles"),
    accent: safeColour(option("accent", ""), "#1a5fb4"),
    position: option("position", "bottom-right") === "bottom-left" ? "bottom-left" : "bottom-right",
    startOpen: flag("open"),
    target: option("target", ""),
    linkHosts: option("link-hosts", location.hostname)
      .toLowerCase()
      .split(/[\s,]+/)
      .filter(Boolean),
  };
  var storageKey = "footnote-widget:" + apiBase + ":" + config.key;

  var CSS_TEXT = [
    ":host { all: initial !important; display: block !important; visibility: visible !important;",
    "  opacity: 1 !important; transform: none !important; clip-path: none !important; filter: none !important; }",
    ":host([data-mode='floating']) { position: fixed !important; bottom: 16px !important; right: 16px !important;",
    "  left: auto !important; top: auto !important; z-index: 2147483000 !important; width: auto !important;",
    "  height: auto !important; margin: 0 !important; }",
    ":host([data-mode='floating'][data-position='bottom-left']) { left: 16px !important; right: auto !important; }",
    ":host([data-mode='inline']) { position: relative !important; width: 100% !important; }",
    ".root { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1d1d1f;",
    "  -webkit-text-size-adjust: 100%; text-align: left; direction: ltr; }",
    ".root *, .root *::before, .root *::after { box-sizing: border-box; }",
    "[hidden] { display: none !important; }",
    "button, input { font: inherit; color: inherit; }",
    "button { cursor: pointer; }",
    ":focus-visible { outline: 3px solid var(--fn-accent); outline-offset: 2px; }",
    ".sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);",
    "  white-space: nowrap; margin: -1px; padding: 0; border: 0; }",
    ".launcher { display: flex; align-items: center; gap: 8px; border: 0; border-radius: 999px;",
    "  background: var(--fn-accent); color: #fff; padding: 12px 18px; font-size: 15px; font-weight: 600;",
    "  box-shadow: 0 4px 16px rgba(0,0,0,.25); }",
    ".launcher-mark { font-size: 18px; line-height: 1; }",
    ".panel { display: flex; flex-direction: column; background: #fff; border: 1px solid #d0d0d7;",
    "  border-radius: 14px; overflow: hidden; box-shadow: 0 10px 40px rgba(0,0,0,.25); }",
    ".floating .panel { position: absolute; bottom: 60px; right: 0; width: min(400px, calc(100vw - 32px));",
    "  height: min(720px, calc(100vh - 100px)); }",
    ".floating.left .panel { right: auto; left: 0; }",
    ".inline .panel { position: relative; width: 100%; height: 520px; box-shadow: none; }",
    ".panel-head { display: flex; align-items: center; gap: 8px; padding: 10px 12px;",
    "  background: var(--fn-accent); color: #fff; }",
    ".panel-title { flex: 1; margin: 0; font-size: 16px; font-weight: 700; }",
    ".head-button { background: rgba(255,255,255,.18); border: 1px solid rgba(255,255,255,.5); color: #fff;",
    "  border-radius: 8px; padding: 4px 10px; font-size: 13px; }",
    ".head-button:focus-visible { outline-color: #fff; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 12px;",
    "  background: #f6f6f8; }",
    ".exchange { display: flex; flex-direction: column; gap: 8px; }",
    ".empty { color: #5b5b66; font-size: 14px; margin: auto 0; text-align: center; }",
    ".question { align-self: flex-end; max-width: 85%; background: var(--fn-accent); color: #fff;",
    "  border-radius: 12px 12px 2px 12px; padding: 8px 12px; margin: 0; white-space: pre-wrap;",
    "  overflow-wrap: anywhere; }",
    ".answer { align-self: flex-start; max-width: 100%; background: #fff; border: 1px solid #e0e0e6;",
    "  border-radius: 12px 12px 12px 2px; padding: 10px 12px; overflow-wrap: anywhere; }",
    ".answer-text { margin: 0; white-space: pre-wrap; }",
    ".answer.abstained .answer-text { color: #6a4b00; }",
    ".note { margin: 6px 0 0; font-size: 13px; color: #5b5b66; }",
    ".draft { margin: 0; white-space: pre-wrap; color: #5b5b66; font-style: italic; }",
    ".progress { margin: 0 0 4px; font-size: 12px; color: #5b5b66; }",
    ".chip { display: inline-block; min-width: 22px; margin: 0 1px; padding: 0 5px; border-radius: 6px;",
    "  border: 1px solid var(--fn-accent); background: #fff; color: var(--fn-accent); font-size: 12px;",
    "  font-weight: 700; line-height: 18px; vertical-align: 1px; }",
    ".chip[aria-expanded='true'] { background: var(--fn-accent); color: #fff; }",
    ".popover { margin: 8px 0 0; padding: 10px 12px; border-left: 4px solid var(--fn-accent);",
    "  background: #f3f5fb; border-radius: 6px; font-size: 14px; }",
    ".popover-title { margin: 0; font-weight: 700; }",
    ".popover-date { margin: 2px 0 6px; color: #5b5b66; font-size: 13px; }",
    ".popover-quote { margin: 0; padding: 0; font-style: italic; white-space: pre-wrap; }",
    ".popover-actions { display: flex; gap: 12px; align-items: center; margin-top: 8px; }",
    ".popover-close { background: #fff; border: 1px solid var(--fn-accent); color: var(--fn-accent);",
    "  border-radius: 8px; padding: 2px 10px; font-size: 13px; }",
    ".link { color: var(--fn-accent); }",
    ".sources { margin: 10px 0 0; padding: 8px 0 0 22px; border-top: 1px solid #e7e7ec; font-size: 13px;",
    "  color: #3a3a44; }",
    ".sources li { margin: 2px 0; }",
    ".error { align-self: stretch; margin: 0; padding: 8px 12px; border-radius: 8px; background: #fdecec;",
    "  color: #8a1c1c; font-size: 14px; }",
    ".composer { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e0e0e6; background: #fff; }",
    ".input { flex: 1; min-width: 0; border: 1px solid #b9b9c3; border-radius: 8px; padding: 8px 10px;",
    "  font-size: 16px; background: #fff; }",
    ".send { border: 0; border-radius: 8px; padding: 8px 14px; background: var(--fn-accent); color: #fff;",
    "  font-weight: 600; }",
    ".send:disabled { opacity: .55; cursor: default; }",
    ".footer { margin: 0; padding: 0 12px 8px; font-size: 11px; color: #6b6b76; background: #fff; }",
    "@media (max-width: 480px) {",
    "  :host([data-mode='floating']) { right: 8px !important; bottom: 8px !important; }",
    "  :host([data-mode='floating'][data-position='bottom-left']) { left: 8px !important; }",
    "  .floating .panel { position: fixed; left: 8px; right: 8px; bottom: 68px; top: 8px; width: auto;",
    "    height: auto; }",
    "}",
  ].join("\n");

  // --- small DOM helpers: attributes and text only, never HTML ---

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    if (attributes) {
      Object.keys(attributes).forEach(function (name) {
        var value = attributes[name];
        if (value === true) {
          node.setAttribute(name, "");
        } else if (value !== false && value !== null && value !== undefined) {
          node.setAttribute(name, String(value));
        }
      });
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function nextId(prefix) {
    ids += 1;
    return "fn-" + prefix + "-" + ids;
  }

  function asText(value) {
    return typeof value === "string" ? value : value === null || value === undefined ? "" : String(value);
  }

  /** An http(s) URL whose host is in the allow-list, or null: the only way a link is ever made. */
  function allowedUrl(value) {
    var url;
    try {
      url = new URL(asText(value));
    } catch (error) {
      return null;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      return null;
    }
    if (url.username || url.password) {
      return null;
    }
    return config.linkHosts.indexOf(url.hostname.toLowerCase()) >= 0 ? url.href : null;
  }

  function link(url, label) {
    return el("a", { class: "link", href: url, target: "_blank", rel: "noopener noreferrer nofollow" }, [label]);
  }

  // --- the shell ---

  var host = document.createElement("footnote-widget");
  var inline = Boolean(config.target);
  host.setAttribute("data-mode", inline ? "inline" : "floating");
  host.setAttribute("data-position", config.position);
  var shadow = host.attachShadow({ mode: "open" });
  if (shadow.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
    // A constructed sheet also works under a page CSP without 'unsafe-inline' for styles.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.appendChild(el("style", null, [CSS_TEXT]));
  }

  var root = el("div", {
    class: "root " + (inline ? "inline" : "floating") + (config.position === "bottom-left" ? " left" : ""),
  });
  root.style.setProperty("--fn-accent", config.accent);
  shadow.appendChild(root);

  var titleId = nextId("title");
  var panelId = nextId("panel");
  var inputId = nextId("input");
  var launcher = null;
  if (!inline) {
    launcher = el(
      "button",
      { class: "launcher", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": panelId },
      [el("span", { class: "launcher-mark", "aria-hidden": "true" }, ["?"]), el("span", null, [config.title])]
    );
    root.appendChild(launcher);
  }

  var clearButton = el("button", { class: "head-button clear", type: "button" }, ["Clear"]);
  var closeButton = inline
    ? null
    : el("button", { class: "head-button close", type: "button", "aria-label": "Close" }, ["\u00d7"]);
  var log = el("div", { class: "log", role: "log", "aria-label": "Conversation" });
  var emptyNote = el("p", { class: "empty" }, ["Ask a question: every answer cites the articles it comes from."]);
  var announcer = el("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
  var alertRegion = el("div", { class: "sr-only", role: "alert" });
  var input = el("input", {
    class: "input",
    id: inputId,
    type: "text",
    name: "question",
    autocomplete: "off",
    maxlength: String(MAX_QUESTION_CHARS),
    placeholder: config.placeholder,
  });
  var sendButton = el("button", { class: "send", type: "submit" }, ["Ask"]);
  var form = el("form", { class: "composer" }, [
    el("label", { class: "sr-only", for: inputId }, [config.placeholder]),
    input,
    sendButton,
  ]);
  var head = el("div", { class: "panel-head" }, [el("h2", { class: "panel-title", id: titleId }, [config.title])]);
  head.appendChild(clearButton);
  if (closeButton) {
    head.appendChild(closeButton);
  }
  var panel = el(
    "section",
    inline
      ? { class: "panel", id: panelId, role: "region", "aria-labelledby": titleId }
      : { class: "panel", id: panelId, role: "dialog", "aria-modal": "false", "aria-labelledby": titleId },
    [
      head,
      log,
      form,
      el("p", { class: "footer" }, ["Answers quote the articles; check each source."]),
      announcer,
      alertRegion,
    ]
  );
  log.appendChild(emptyNote);
  if (!inline) {
    panel.hidden = true;
  }
  root.appendChild(panel);

  // --- state and storage ---

  var turns = []; // {question, answer (trimmed answer object) | null, error}
  var busy = false;
  var controller = null;
  var openPopover = null; // {chip, box}
  var retryTimer = null;

  function trimAnswer(answer) {
    if (!answer || typeof answer !== "object") {
      return null;
    }
    return {
      text: asText(answer.text),
      abstained: answer.abstained === true,
      sentences: Array.isArray(answer.sentences)
        ? answer.sentences.map(function (s) {
            return { text: asText(s && s.text), markers: Array.isArray(s && s.markers) ? s.markers : [] };
          })
        : [],
      citations: Array.isArray(answer.citations)
        ? answer.citations.map(function (c) {
            c = c || {};
            return {
              marker: c.marker,
              document_id: asText(c.document_id),
              title: asText(c.title),
              date: c.date === null || c.date === undefined ? null : asText(c.date),
              source: c.source === null || c.source === undefined ? null : asText(c.source),
              quote: asText(c.quote),
            };
          })
        : [],
    };
  }

  function save() {
    try {
      var kept = turns.filter(function (t) {
        return t.answer;
      });
      var open = inline ? true : !panel.hidden;
      sessionStorage.setItem(storageKey, JSON.stringify({ v: STORAGE_VERSION, open: open, turns: kept }));
    } catch (error) {
      // Storage may be full or disabled (private mode, sandboxed frames): the chat still works, unsaved.
    }
  }

  function load() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
      if (!saved || saved.v !== STORAGE_VERSION || !Array.isArray(saved.turns)) {
        return { open: false, turns: [] };
      }
      return {
        open: saved.open === true,
        turns: saved.turns
          .filter(function (t) {
            return t && typeof t.question === "string" && t.answer;
          })
          .map(function (t) {
            return { question: t.question, answer: trimAnswer(t.answer) };
          }),
      };
    } catch (error) {
      return { open: false, turns: [] };
    }
  }

  function history() {
    var messages = [];
    turns.forEach(function (t) {
      if (t.answer) {
        messages.push({ role: "user", content: t.question.slice(0, MAX_TURN_CHARS) });
        messages.push({ role: "assistant", content: t.answer.text.slice(0, MAX_TURN_CHARS) });
      }
    });
    return messages.slice(-MAX_HISTORY_MESSAGES);
  }

  // --- rendering one exchange ---

  function closePopover(returnFocus) {
    if (!openPopover) {
      return;
    }
    var current = openPopover;
    openPopover = null;
    current.chip.setAttribute("aria-expanded", "false");
    current.box.remove();
    if (returnFocus) {
      current.chip.focus();
    }
  }

  function citationLabel(citation) {
    return citation.title || citation.document_id || "Untitled article";
  }

  function showCitation(chip, citation, container) {
    var wasOpen = openPopover && openPopover.chip === chip;
    closePopover(false);
    if (wasOpen) {
      return;
    }
    var headingId = nextId("source");
    var closer = el("button", { class: "popover-close", type: "button" }, ["Close"]);
    var actions = el("div", { class: "popover-actions" }, [closer]);
    var url = allowedUrl(citation.source);
    if (url) {
      actions.appendChild(link(url, "Open the article"));
    }
    var box = el(
      "div",
      { class: "popover", role: "dialog", "aria-labelledby": headingId, id: nextId("popover"), tabindex: "-1" },
      [
        el("p", { class: "popover-title", id: headingId }, ["[" + citation.marker + "] " + citationLabel(citation)]),
        el("p", { class: "popover-date" }, [citation.date ? citation.date : "Date not given"]),
        el("blockquote", { class: "popover-quote" }, [citation.quote]),
        actions,
      ]
    );
    closer.addEventListener("click", function () {
      closePopover(true);
    });
    chip.setAttribute("aria-expanded", "true");
    chip.setAttribute("aria-controls", box.id);
    container.appendChild(box);
    openPopover = { chip: chip, box: box };
    box.focus();
  }

  function renderAnswer(bubble, answer) {
    bubble.textContent = "";
    bubble.removeAttribute("aria-busy");
    bubble.classList.toggle("abstained", answer.abstained);
    var byMarker = {};
    answer.citations.forEach(function (c) {
      if (typeof c.marker === "number" && !byMarker[c.marker]) {
        byMarker[c.marker] = c;
      }
    });
    var paragraph = el("p", { class: "answer-text" });
    var popoverSlot = el("div");
    var sentences = answer.sentences.length ? answer.sentences : [{ text: answer.text, markers: [] }];
    sentences.forEach(function (sentence, index) {
      if (index > 0) {
        paragraph.appendChild(document.createTextNode(" "));
      }
      paragraph.appendChild(document.createTextNode(sentence.text));
      sentence.markers.forEach(function (marker) {
        var citation = byMarker[marker];
        if (!citation) {
          return; // a marker without a citation never reaches the reader
        }
        var chip = el(
          "button",
          {
            class: "chip",
            type: "button",
            "aria-expanded": "false",
            "aria-haspopup": "dialog",
            "aria-label": "Source " + marker + ": " + citationLabel(citation),
          },
          [String(marker)]
        );
        chip.addEventListener("click", function () {
          showCitation(chip, citation, popoverSlot);
        });
        paragraph.appendChild(document.createTextNode(" "));
        paragraph.appendChild(chip);
      });
    });
    bubble.appendChild(paragraph);
    if (answer.abstained) {
      bubble.appendChild(el("p", { class: "note" }, [ABSTAINED_NOTE]));
    }
    bubble.appendChild(popoverSlot);
    var markers = Object.keys(byMarker)
      .map(Number)
      .sort(function (a, b) {
        return a - b;
      });
    if (markers.length) {
      var list = el("ol", { class: "sources", "aria-label": "Sources" });
      markers.forEach(function (marker) {
        var c = byMarker[marker];
        var item = el("li", { value: String(marker) }, [citationLabel(c) + (c.date ? " (" + c.date + ")" : "")]);
        var url = allowedUrl(c.source);
        if (url) {
          item.appendChild(document.createTextNode(" "));
          item.appendChild(link(url, "open"));
        }
        list.appendChild(item);
      });
      bubble.appendChild(list);
    }
  }

  function plainText(answer) {
    return answer.sentences.length
      ? answer.sentences
          .map(function (s) {
            return s.text;
          })
          .join(" ")
      : answer.text;
  }

  function addExchange(question) {
    if (emptyNote.parentNode) {
      emptyNote.remove();
    }
    var bubble = el("div", { class: "answer", "aria-busy": "true" });
    var wrapper = el("div", { class: "exchange" }, [el("p", { class: "question" }, [question]), bubble]);
    log.appendChild(wrapper);
    return { wrapper: wrapper, bubble: bubble };
  }

  function showError(exchange, message) {
    exchange.bubble.remove();
    exchange.wrapper.appendChild(el("p", { class: "error" }, [message]));
    alertRegion.textContent = message;
    log.scrollTop = log.scrollHeight;
  }

  function renderAll() {
    closePopover(false);
    log.textContent = "";
    if (!turns.length) {
      log.appendChild(emptyNote);
    }
    turns.forEach(function (t) {
      var exchange = addExchange(t.question);
      renderAnswer(exchange.bubble, t.answer);
    });
    log.scrollTop = log.scrollHeight;
  }

  // --- talking to the API ---

  function errorMessage(status, body, retryAfter) {
    var code = body && typeof body.code === "string" ? body.code : "";
    if (status === 429) {
      var seconds = Math.max(1, Math.ceil(Number(retryAfter) || 10));
      return "Too many questions right now (rate limited). Please try again in " + seconds + " seconds.";
    }
    if (status === 503) {
      return code === "loading"
        ? "Footnote is still starting up. Please try again in a few seconds."
        : "Footnote is busy right now. Please try again in a few seconds.";
    }
    if (status === 401 || code === "origin_not_allowed" || code === "invalid_key") {
      return "This page isn't set up to ask Footnote (check the site key and its allowed origins).";
    }
    if (status === 403) {
      return "This page isn't allowed to ask Footnote.";
    }
    if (status === 422 && code === "question_too_long") {
      return "That question is too long. Please shorten it.";
    }
    if (status === 422) {
      return "Footnote couldn't read that question. Please rephrase it.";
    }
    if (status === 504 || status === 502) {
      return "The language model didn't answer in time. Please try again.";
    }
    return "Something went wrong on the server (" + status + "). Please try again.";
  }

  var LOST = "Connection lost before the answer arrived. Check your connection and try again.";

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value || retryTimer !== null;
  }

  function holdFor(seconds) {
    if (retryTimer !== null) {
      clearTimeout(retryTimer);
    }
    retryTimer = setTimeout(function () {
      retryTimer = null;
      sendButton.disabled = busy;
    }, seconds * 1000);
    sendButton.disabled = true;
  }

  function parseEvents(buffer, onEvent) {
    // Server-Sent Events: blocks separated by a blank line, `event:` and `data:` lines.
    var blocks = buffer.split(/\r?\n\r?\n/);
    var rest = blocks.pop();
    blocks.forEach(function (block) {
      var name = "message";
      var data = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (line.indexOf("event:") === 0) {
          name = line.slice(6).trim();
        } else if (line.indexOf("data:") === 0) {
          data.push(line.slice(5).replace(/^ /, ""));
        }
      });
      if (data.length) {
        var payload = null;
        try {
          payload = JSON.parse(data.join("\n"));
        } catch (error) {
          payload = null;
        }
        onEvent(name, payload);
      }
    });
    return rest;
  }

  function ask(question) {
    var turn = { question: question, answer: null };
    var exchange = addExchange(question);
    var progress = el("p", { class: "progress" }, ["Searching the articles\u2026"]);
    var draft = el("p", { class: "draft" });
    exchange.bubble.appendChild(progress);
    exchange.bubble.appendChild(draft);
    log.scrollTop = log.scrollHeight;
    var priorHistory = history();
    turns.push(turn);
    setBusy(true);
    alertRegion.textContent = "";
    controller = typeof AbortController === "function" ? new AbortController() : null;
    var mine = controller;
    var headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
    if (config.key) {
      headers.Authorization = "Bearer " + config.key;
    }
    var finished = false;
    var quoted = null; // verified quotes shown while the written answer is prepared

    function fail(message) {
      if (finished) {
        return;
      }
      finished = true;
      if (quoted) {
        // The quotes were verified before they were shown: they stay the answer, and only the written one is lost.
        turn.answer = quoted;
        renderAnswer(exchange.bubble, quoted);
        exchange.bubble.appendChild(el("p", { class: "note" }, [message + " " + QUOTES_KEPT]));
        alertRegion.textContent = message;
        save();
        return;
      }
      turns.splice(turns.indexOf(turn), 1);
      showError(exchange, message);
      if (!input.value) {
        input.value = question; // easy to retry
      }
    }

    function onEvent(name, data) {
      if (finished) {
        return;
      }
      if (name === "passages") {
        var count = data && Array.isArray(data.passages) ? data.passages.length : 0;
        progress.textContent = "Found " + count + " passages; writing an answer\u2026";
      } else if (name === "quotes") {
        // Quotes that answer, verified, while the model writes: shown at once, replaced by the final answer.
        quoted = trimAnswer(data);
        if (!quoted || quoted.abstained || !quoted.sentences.length) {
          quoted = null;
          return;
        }
        renderAnswer(exchange.bubble, quoted);
        exchange.bubble.setAttribute("aria-busy", "true");
        progress.textContent = "Quoted from the sources; writing an answer\u2026";
        exchange.bubble.appendChild(progress);
        exchange.bubble.appendChild(draft);
        announcer.textContent = "From the sources: " + plainText(quoted);
        log.scrollTop = Math.max(0, exchange.wrapper.offsetTop - log.offsetTop - 8);
      } else if (name === "delta") {
        progress.textContent = quoted
          ? "Quoted from the sources; a written answer, being checked\u2026"
          : "Draft, being checked against the sources\u2026";
        draft.appendChild(document.createTextNode(asText(data && data.text)));
        log.scrollTop = log.scrollHeight;
      } else if (name === "answer") {
        // The verified answer replaces the streamed draft entirely: verification may drop or re-cite any of it.
        finished = true;
        turn.answer = trimAnswer(data) || { text: "", abstained: true, sentences: [], citations: [] };
        renderAnswer(exchange.bubble, turn.answer);
        announcer.textContent = (turn.answer.abstained ? ABSTAINED_NOTE + " " : "Answer: ") + plainText(turn.answer);
        save();
        // Show the question with the start of its answer, not the end of a long answer.
        log.scrollTop = Math.max(0, exchange.wrapper.offsetTop - log.offsetTop - 8);
      } else if (name === "error") {
        var status = data && typeof data.status === "number" ? data.status : 500;
        fail(errorMessage(status, data, null));
      }
    }

    fetch(new URL("v1/ask", apiBase).href, {
      method: "POST",
      headers: headers,
      body: JSON.stringify({ question: question, history: priorHistory, stream: true }),
      credentials: "omit",
      mode: "cors",
      referrerPolicy: "strict-origin-when-cross-origin",
      signal: mine ? mine.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) {
          var retryAfter = response.headers.get("Retry-After");
          if (response.status === 429) {
            holdFor(Math.max(1, Math.min(300, Math.ceil(Number(retryAfter) || 10))));
          }
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (body) {
              fail(errorMessage(response.status, body, retryAfter));
            });
        }
        if (!response.body || !response.body.getReader) {
          return response.text().then(function (text) {
            parseEvents(text + "\n\n", onEvent);
            if (!finished) {
              fail(LOST);
            }
          });
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) {
              parseEvents(buffer + decoder.decode() + "\n\n", onEvent);
              if (!finished) {
                fail(LOST);
              }
              return undefined;
            }
            buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), onEvent);
            return pump();
          });
        }
        return pump();
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          finished = true;
          return;
        }
        fail(navigator.onLine === false ? "You're offline. Reconnect and try again." : LOST);
      })
      .then(function () {
        if (controller === mine) {
          controller = null;
          setBusy(false);
        }
      });
  }

  // --- wiring ---

  function setOpen(open, focusInput) {
    if (inline) {
      return;
    }
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open && focusInput) {
      input.focus();
      log.scrollTop = log.scrollHeight;
    }
    if (!open) {
      closePopover(false);
    }
    save();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy || sendButton.disabled) {
      return;
    }
    input.value = "";
    ask(question.slice(0, MAX_QUESTION_CHARS));
  });

  clearButton.addEventListener("click", function () {
    if (controller) {
      controller.abort();
      controller = null;
      setBusy(false);
    }
    turns = [];
    try {
      sessionStorage.removeItem(storageKey);
    } catch (error) {
      // nothing stored
    }
    renderAll();
    save();
    announcer.textContent = "Conversation cleared.";
    input.focus();
  });

  if (launcher) {
    launcher.addEventListener("click", function () {
      setOpen(panel.hidden, true);
    });
    closeButton.addEventListener("click", function () {
      setOpen(false);
      launcher.focus();
    });
  }

  root.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    if (openPopover) {
      event.stopPropagation();
      closePopover(true);
      return;
    }
    if (!inline && !panel.hidden) {
      event.stopPropagation();
      setOpen(false);
      launcher.focus();
    }
  });

  function mount() {
    var parent = document.body || document.documentElement;
    if (inline) {
      try {
        parent = document.querySelector(config.target);
      } catch (error) {
        parent = null;
      }
      if (!parent) {
        if (window.console) {
          console.warn("Footnote widget: no element matches data-footnote-target " + JSON.stringify(config.target));
        }
        return;
      }
    }
    parent.appendChild(host);
    var saved = load();
    turns = saved.turns;
    renderAll();
    if (!inline && (config.startOpen || saved.open)) {
      setOpen(true, false);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
