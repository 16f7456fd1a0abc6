/* Supportbot chat widget. One tag embeds it on any page:
 *   <script src="https://support.example/static/supportbot/widget.js" data-title="Help" defer></script>
 * Vanilla JS inside a shadow root, so the host page's CSS cannot reach it. Model text is only
 * ever inserted as text nodes or as links we build ourselves: never as HTML.
 * On a help-centre article's page, data-article="KEY" (or open({article: "KEY"})) sends the article
 * with the next question, which is then read as a follow-up of that article.
 * The protocol is documented in docs/protocol.md.
 *
 * Every string a visitor sees goes through gettext(): the English msgids are built in, and the
 * visitor's language comes from the server as a JSON catalogue (locale/<lang>/LC_MESSAGES/djangojs.po,
 * see locale/README.md). The language is data-lang on the script tag, else the browser's
 * languages, else the shop's default (the server decides the last two). Non-ASCII text in this
 * file is written as \u escapes: a shop's page may load it under a legacy charset. */
(function () {
  "use strict";
  var script = document.currentScript;
  // The catalogue arrives asynchronously: a second copy of the tag must not start a second widget meanwhile.
  if (!script || window.__supportbotWidget || window.__supportbotWidgetStarting) return;
  window.__supportbotWidgetStarting = true;
  var server = (script.getAttribute("data-server") || new URL(script.src, location.href).origin).replace(/\/$/, "");
  var dataTitle = script.getAttribute("data-title");
  // The shop's signed-in customer (docs/integrations.md). Sent with the session request; the server
  // believes the id only when data-user-hash is the shop's signature of it.
  var identity = script.getAttribute("data-user-id") ? {
    user_id: script.getAttribute("data-user-id"),
    email: script.getAttribute("data-user-email") || "",
    name: script.getAttribute("data-user-name") || "",
    user_hash: script.getAttribute("data-user-hash") || ""
  } : null;
  var storageKey = "supportbot:" + server;
  var wanted = [script.getAttribute("data-lang")].concat(navigator.languages || [navigator.language])
    .filter(function (tag) { return tag && /^[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*$/.test(tag); }).slice(0, 10);
  // A catalogue that has not come by then is given up on: the widget shows its built-in English.
  var CATALOGUE_TIMEOUT_MS = 8000;
  var ENGLISH = { language: "en", direction: "ltr", messages: {} };

  // ---- the visitor's language ----------------------------------------------------------
  var messages = {};
  function gettext(msgid) {
    var translated = Object.prototype.hasOwnProperty.call(messages, msgid) ? messages[msgid] : "";
    return typeof translated === "string" && translated ? translated : msgid;
  }
  // Placeholders are spelled as in Django's templates, "%(name)s"; a test checks every translation keeps them.
  function interpolate(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  function catalogueLoad() {
    // The msgids are English: a visitor whose first choice is English needs no catalogue.
    if (!wanted.length || /^en\b/i.test(wanted[0])) return Promise.resolve(ENGLISH);
    var controller = window.AbortController ? new AbortController() : null;
    var timer;
    var givenUp = new Promise(function (resolve) {
      timer = setTimeout(function () { if (controller) controller.abort(); resolve(ENGLISH); }, CATALOGUE_TIMEOUT_MS);
    });
    var url = server + "/api/widget/i18n?lang=" + encodeURIComponent(wanted.join(","));
    var request = fetch(url, controller ? { signal: controller.signal } : {})
      .then(function (r) { if (!r.ok) throw new Error("catalogue " + r.status); return r.json(); })
      .then(function (body) {
        if (!body || !body.messages || typeof body.messages !== "object" || typeof body.language !== "string") {
          throw new Error("catalogue");
        }
        return body;
      })
      .catch(function () { return ENGLISH; });
    return Promise.race([request, givenUp]).then(function (catalogue) { clearTimeout(timer); return catalogue; });
  }

  catalogueLoad().then(start);

  function start(catalogue) {
    messages = catalogue.messages || {};
    var direction = catalogue.direction === "rtl" ? "rtl" : "ltr";
    var title = dataTitle || gettext("Chat with us");

    var CSS = [
      ".root{all:initial;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;}",
      ".root *{box-sizing:border-box;font:inherit;color:inherit;}",
      ".launcher{position:fixed;right:20px;bottom:20px;width:58px;height:58px;border-radius:50%;border:0;background:#2f5bea;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);font-size:26px;display:flex;align-items:center;justify-content:center;z-index:2147483000;}",
      ".launcher:focus-visible,.btn:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #f5a623;outline-offset:2px;}",
      ".panel{position:fixed;right:20px;bottom:90px;width:370px;max-width:calc(100vw - 40px);height:540px;max-height:calc(100vh - 110px);background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;z-index:2147483000;}",
      ".panel[hidden]{display:none;}",
      ".head{background:#2f5bea;color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px;}",
      ".head h2{margin:0;font-size:16px;font-weight:600;flex:1;color:#fff;}",
      ".head .btn{background:transparent;color:#fff;border:1px solid rgba(255,255,255,.6);}",
      ".state{font-size:12px;padding:4px 14px;background:#fff4d6;color:#6b4e00;}",
      ".state[hidden]{display:none;}",
      // The log keeps room for the last messages however much the forms below it (a ticket, the transcript)
      // take: over a third of the panel (a few lines on a short screen); the forms shrink and scroll instead.
      ".log{flex:1;min-height:max(96px,38%);overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7fb;}",
      ".msg{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;}",
      // One shade darker than the brand blue, so the light "You" label reads (4.4:1 before, 5.3:1 now).
    ".msg.customer{align-self:flex-end;background:#2a4fd8;color:#fff;}",
      ".msg.assistant,.msg.agent{align-self:flex-start;background:#fff;border:1px solid #e1e4ee;}",
      ".msg.agent{border-color:#2fae6b;}",
      ".msg .who{display:block;font-size:11px;color:#5a6275;margin-bottom:2px;}",
    // Each line of a message takes its own direction, so English in an Arabic widget keeps its full stops in place.
    ".msg .body{display:block;unicode-bidi:plaintext;}",
      ".msg.customer .who{color:#dfe6ff;}",
      ".event{align-self:center;font-size:12px;color:#5a6275;text-align:center;max-width:90%;}",
      ".notice{font-size:12px;color:#8a5a00;margin-top:4px;display:block;}",
      ".deep{font-size:12px;color:#5a3fc0;display:block;margin-bottom:4px;}",
      ".typing{display:inline-block;letter-spacing:2px;color:#5a6275;}",
      ".composing{font-size:12px;color:#4a5163;padding:2px 14px;font-style:italic;}",
      ".composing[hidden]{display:none;}",
      ".typing[hidden]{display:none;}",
      ".cites{margin-top:6px;font-size:13px;border-top:1px solid #eceef4;padding-top:4px;}",
      ".cites a,.msg a{color:#2346c4;text-decoration:underline;}",
      ".msg.customer a{color:#fff;}",
      ".msg.customer.unsent{background:#fff;color:#8f1d2c;border:1px dashed #b00020;}",
      // Shown as typed until the server has stored it (while offline, until the socket is back).
      ".msg.customer.sending{opacity:.6;}",
      ".msg.customer.unsent .who{color:#8f1d2c;}",
      ".error{font-size:12px;color:#b00020;padding:2px 14px;}",
      ".error:empty{display:none;}",
      "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e1e4ee;background:#fff;margin:0;}",
      "form[hidden]{display:none;}",
      "textarea{flex:1;resize:none;height:42px;border:1px solid #c9cede;border-radius:8px;padding:9px;background:#fff;}",
      ".btn{border:0;border-radius:8px;padding:0 12px;background:#2f5bea;color:#fff;cursor:pointer;min-height:32px;}",
      ".btn.secondary{background:#eef1fb;color:#2346c4;}",
      ".attach{background:#eef1fb;color:#2346c4;display:flex;align-items:center;justify-content:center;padding:0 9px;}",
      ".photo{display:block;max-width:100%;max-height:220px;border-radius:8px;margin-top:4px;}",
      ".actions{display:flex;gap:6px;padding:0 10px 10px;background:#fff;}",
      ".rating{border:0;margin:0;padding:10px;background:#fff;border-top:1px solid #e1e4ee;display:flex;flex-direction:column;gap:6px;}",
      ".rating[hidden]{display:none;}",
      // Floated, the legend is laid out as a flex item instead of straddling the border over the conversation.
    ".rating legend{float:left;font-weight:600;padding:0;margin-bottom:4px;}",
      ".stars{display:flex;gap:4px;}",
      ".star{border:1px solid #c9cede;border-radius:8px;background:#fff;color:#5a6275;cursor:pointer;min-width:40px;min-height:36px;font-size:20px;}",
      ".star[aria-pressed=true]{background:#fff4d6;color:#b7791f;border-color:#b7791f;}",
      ".star:focus-visible{outline:3px solid #f5a623;outline-offset:2px;}",
      ".rating textarea{height:52px;}",
      ".ticket{margin:0;padding:10px;background:#fff;border-top:1px solid #e1e4ee;display:flex;flex-direction:column;gap:6px;min-height:0;overflow-y:auto;flex-shrink:1;}",
      ".ticket>*{flex:none;}",
      ".ticket[hidden]{display:none;}",
      ".ticket input{border:1px solid #c9cede;border-radius:8px;padding:6px 8px;background:#fff;}",
      // Compact, so that beside the conversation it still fits without scrolling: a one-line heading,
      // and the message box with its button on one row, as in the chat's own form.
      ".ticket p{margin:0;font-size:13px;}",
      ".ticket .row{display:flex;gap:6px;}",
      ".ticket textarea{height:48px;}",
      ".ticket .row .btn{flex:none;max-width:40%;}",
      // Right-to-left languages: the launcher and the panel sit bottom left; flex rows and bubbles mirror by themselves.
    ".root[dir=rtl] .launcher,.root[dir=rtl] .panel{right:auto;left:20px;}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;}"
    ].join("\n");

    // ---- safe rendering: text nodes and links we build, nothing else ----------------
    function safeUrl(url) {
      try {
        var parsed = new URL(url, server);
        if (parsed.protocol === "http:" || parsed.protocol === "https:") return parsed.href;
      } catch (e) { /* not a URL */ }
      return null;
    }
    // A link's address may hold balanced parentheses, one level deep ("https://x/r_(1)"), as a wiki's
    // often do: stopping at the first ")" linked to a truncated address and left a stray ")" behind.
    // A bare URL stops at a quote too: in 'src="https://x/"' the quote belongs to the HTML around it.
    var INLINE = /(!?)\[([^\]\n]{1,200})\]\(((?:[^()\s]|\([^()\s]{0,500}\)){1,500})\)|\*\*([^*\n]{1,300})\*\*|(https?:\/\/[^\s<>()"]{1,500})/g;
    var LINK_MAX_CHARS = 500;
    // A draft (the answer still streaming) shows no link: which links an answer keeps is decided
    // when it is stored, so a link only the draft had must never be clickable.
    function renderInline(target, text, draft) {
      var last = 0, match;
      INLINE.lastIndex = 0;
      while ((match = INLINE.exec(text)) !== null) {
        if (match.index > last) target.appendChild(document.createTextNode(text.slice(last, match.index)));
        if (match[2] !== undefined) {
          var href = match[3].length <= LINK_MAX_CHARS ? safeUrl(match[3]) : null;
          // Markdown images are shown as links: the widget never loads a picture a model points at.
          var label = match[1] ? interpolate(gettext("Image: %(title)s"), { title: match[2] }) : match[2];
          if (href && !draft) target.appendChild(link(href, label)); else target.appendChild(document.createTextNode(label));
        } else if (match[4] !== undefined) {
          var strong = document.createElement("strong");
          strong.textContent = match[4];
          target.appendChild(strong);
        } else if (match[5] !== undefined) {
          target.appendChild(draft ? document.createTextNode(match[5]) : link(match[5], match[5]));
        }
        last = INLINE.lastIndex;
      }
      if (last < text.length) target.appendChild(document.createTextNode(text.slice(last)));
    }
    function link(href, label) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = label;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      return a;
    }

    // ---- DOM ---------------------------------------------------------------------------
    var host = document.createElement("supportbot-widget");
    // Inline !important beats any host-page rule, e.g. "* { display: none !important }".
    host.style.setProperty("display", "block", "important");
    host.style.setProperty("position", "static", "important");
    host.style.setProperty("visibility", "visible", "important");
    var shadow = host.attachShadow({ mode: "open" });
    var style = document.createElement("style");
    style.textContent = CSS;
    shadow.appendChild(style);
    var root = el("div", "root", { lang: catalogue.language, dir: direction });
    shadow.appendChild(root);

    // A drawn speech bubble, not an emoji: machines without an emoji font showed an empty box.
    function bubbleIcon() {
      var ns = "http://www.w3.org/2000/svg";
      var svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("width", "28");
      svg.setAttribute("height", "28");
      svg.setAttribute("aria-hidden", "true");
      var path = document.createElementNS(ns, "path");
      path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
      path.setAttribute("fill", "#fff");
      svg.appendChild(path);
      return svg;
    }
    // The attach button's paperclip, drawn for the same reason (the emoji rendered as an empty box).
    function paperclipIcon() {
      var ns = "http://www.w3.org/2000/svg";
      var svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("width", "20");
      svg.setAttribute("height", "20");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      var path = document.createElementNS(ns, "path");
      path.setAttribute("d", "M16 8v8a4 4 0 0 1-8 0V6a3 3 0 0 1 6 0v10a1.5 1.5 0 0 1-3 0V8");
      path.setAttribute("transform", "rotate(45 12 12)");
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "2");
      path.setAttribute("stroke-linecap", "round");
      svg.appendChild(path);
      return svg;
    }
    function el(tag, cls, attrs) {
      var node = document.createElement(tag);
      if (cls) node.className = cls;
      if (attrs) for (var k in attrs) node.setAttribute(k, attrs[k]);
      return node;
    }

    var launcher = el("button", "launcher", { type: "button", "aria-label": interpolate(gettext("Open chat: %(title)s"), { title: title }), "aria-expanded": "false" });
    launcher.appendChild(bubbleIcon());
    var panel = el("section", "panel", { role: "dialog", "aria-label": title });
    panel.hidden = true;
    var head = el("div", "head");
    var h2 = el("h2");
    h2.textContent = title;
    var closeBtn = el("button", "btn", { type: "button", "aria-label": gettext("Close chat") });
    closeBtn.textContent = "\u00D7";
    head.appendChild(h2);
    head.appendChild(closeBtn);
    var stateBar = el("div", "state", { role: "status" });
    stateBar.hidden = true;
    var log = el("div", "log", { role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": gettext("Conversation"), tabindex: "0" });
    var errorLine = el("div", "error", { role: "alert" });
    // "Sam is typing...": shown a few seconds after each "composing" frame from the agent, never stored.
    var composingLine = el("div", "composing");
    composingLine.hidden = true;
    var form = el("form");
    var input = el("textarea", "", { "aria-label": gettext("Type your message"), placeholder: gettext("Ask us anything\u2026"), rows: "1", dir: "auto" });
    var sendBtn = el("button", "btn", { type: "submit" });
    sendBtn.textContent = gettext("Send");
    // A photo goes up over HTTP first (visitor token in the header), then a message frame names it.
    var fileInput = el("input", "sr", { type: "file", accept: "image/jpeg,image/png,image/webp", tabindex: "-1", "aria-hidden": "true" });
    var attachBtn = el("button", "btn attach", { type: "button", "aria-label": gettext("Attach a photo"), title: gettext("Attach a photo") });
    attachBtn.appendChild(paperclipIcon());
    form.appendChild(attachBtn);
    form.appendChild(fileInput);
    form.appendChild(input);
    form.appendChild(sendBtn);
    var actions = el("div", "actions");
    var personBtn = el("button", "btn secondary", { type: "button" });
    personBtn.textContent = gettext("Talk to a person");
    actions.appendChild(personBtn);
    panel.appendChild(head);
    panel.appendChild(stateBar);
    panel.appendChild(log);
    panel.appendChild(composingLine);
    panel.appendChild(errorLine);
    panel.appendChild(form);
    panel.appendChild(actions);
    root.appendChild(panel);
    root.appendChild(launcher);

    // ---- rating: 1-5 stars and an optional comment, once the conversation has an outcome ----
    var ratingBox = el("fieldset", "rating");
    ratingBox.hidden = true;
    var ratingLegend = el("legend");
    ratingLegend.textContent = gettext("How did we do?");
    var stars = el("div", "stars");
    // Whole sentences, not "N of 5 stars, " + label: word order and plurals differ between languages.
    var starLabels = [
      gettext("1 of 5 stars, very unhappy"),
      gettext("2 of 5 stars, unhappy"),
      gettext("3 of 5 stars, neutral"),
      gettext("4 of 5 stars, happy"),
      gettext("5 of 5 stars, very happy")
    ];
    var ratingScore = 0, ratingDone = false;
    var starButtons = starLabels.map(function (label, index) {
      var star = el("button", "star", { type: "button", "aria-pressed": "false", "aria-label": label });
      star.textContent = "\u2605";
      star.addEventListener("click", function () { pickScore(index + 1); });
      stars.appendChild(star);
      return star;
    });
    var ratingComment = el("textarea", "", { "aria-label": gettext("Comment (optional)"), placeholder: gettext("Anything to add? (optional)"), maxlength: "2000", dir: "auto" });
    var ratingSend = el("button", "btn", { type: "button" });
    ratingSend.textContent = gettext("Send rating");
    ratingSend.disabled = true;
    ratingBox.appendChild(ratingLegend);
    ratingBox.appendChild(stars);
    ratingBox.appendChild(ratingComment);
    ratingBox.appendChild(ratingSend);
    panel.insertBefore(ratingBox, form);

    function pickScore(score) {
      ratingScore = score;
      starButtons.forEach(function (star, index) { star.setAttribute("aria-pressed", String(index < score)); });
      ratingSend.disabled = false;
    }
    // A chat only the bot had has no close to ask for a rating at: once the bot has answered, a button
    // offers the same form, so every conversation can be rated.
    // A closed chat takes no more messages: the customer starts a new one (a new session).
    var newChatBtn = el("button", "btn", { type: "button" });
    newChatBtn.textContent = gettext("Start a new chat");
    newChatBtn.hidden = true;
    actions.appendChild(newChatBtn);
    newChatBtn.addEventListener("click", function () { newChat(); });
    var rateBtn = el("button", "btn secondary", { type: "button" });
    rateBtn.textContent = gettext("Rate this chat");
    rateBtn.hidden = true;
    actions.appendChild(rateBtn);
    rateBtn.addEventListener("click", function () {
      rateBtn.hidden = true;
      ratingBox.hidden = false;
      starButtons[0].focus();
    });
    function ratingOffer(frame) {
      var data = frame.data || {};
      if (data.event === "rated") ratingDone = true;
      if (data.event === "rating_requested" || data.status === "closed") ratingBox.hidden = false;
      if (frame.role === "assistant" && status === "bot" && ratingBox.hidden) rateBtn.hidden = false;
      // While a person is being found or talking, a rating is refused: the offer waits for the outcome.
      if (status === "waiting" || status === "agent") { rateBtn.hidden = true; ratingBox.hidden = true; }
      if (ratingDone) { ratingBox.hidden = true; rateBtn.hidden = true; }
    }
    ratingSend.addEventListener("click", function () {
      if (!ratingScore) return;
      sendFrame({ type: "rating", score: ratingScore, comment: ratingComment.value.trim() });
    });

    // ---- handoff: place in the queue, a person joining, the out-of-hours ticket form ----------
    var ticketBox = el("form", "ticket", { "aria-label": gettext("Leave a message for our team") });
    ticketBox.hidden = true;
    var ticketTitle = el("p", "");
    ticketTitle.textContent = gettext("Leave your email and a message; we'll reply when we open.");
    // Translators: an example address in the visitor's language; keep example.com, the domain reserved for examples.
    var ticketEmail = el("input", "", { type: "email", "aria-label": gettext("Your email"), placeholder: gettext("you@example.com"), maxlength: "254", required: "" });
    var ticketText = el("textarea", "", { "aria-label": gettext("Your message for our team"), placeholder: gettext("What can we help with?"), maxlength: "4000", required: "", dir: "auto" });
    var ticketSend = el("button", "btn", { type: "submit" });
    ticketSend.textContent = gettext("Send to the team");
    var ticketRow = el("div", "row");
    ticketRow.appendChild(ticketText);
    ticketRow.appendChild(ticketSend);
    ticketBox.appendChild(ticketTitle);
    ticketBox.appendChild(ticketEmail);
    ticketBox.appendChild(ticketRow);
    panel.insertBefore(ticketBox, actions);
    ticketBox.addEventListener("submit", function (e) {
      e.preventDefault();
      sendFrame({ type: "ticket", email: ticketEmail.value.trim(), text: ticketText.value.trim() });
    });

    // ---- the transcript by email: asked for once per request_id, sent by the server ------------
    var transcriptBtn = el("button", "btn secondary", { type: "button" });
    transcriptBtn.textContent = gettext("Email me this conversation");
    actions.appendChild(transcriptBtn);
    var transcriptBox = el("form", "ticket", { "aria-label": gettext("Email me this conversation") });
    transcriptBox.hidden = true;
    var transcriptEmail = el("input", "", { type: "email", "aria-label": gettext("Your email"), placeholder: gettext("you@example.com"), maxlength: "254", required: "" });
    transcriptEmail.value = identity ? identity.email : "";
    var transcriptSend = el("button", "btn", { type: "submit" });
    transcriptSend.textContent = gettext("Send transcript");
    transcriptBox.appendChild(transcriptEmail);
    transcriptBox.appendChild(transcriptSend);
    panel.insertBefore(transcriptBox, actions);
    transcriptBtn.addEventListener("click", function () {
      transcriptBox.hidden = !transcriptBox.hidden;
      if (!transcriptBox.hidden) transcriptEmail.focus();
    });
    transcriptBox.addEventListener("submit", function (e) {
      e.preventDefault();
      sendFrame({ type: "transcript_email", email: transcriptEmail.value.trim(), request_id: newId() });
    });
    function transcriptQueued(frame) {
      transcriptBox.hidden = true;
      setState(interpolate(gettext("We'll email this conversation to %(email)s."), { email: frame.email }));
    }

    function handoffState(frame) {
      var data = frame.data || {};
      // Out of hours, or in line with nobody online to take the chat: the customer may leave an email,
      // unless their message for the team is still waiting (one open ticket per conversation).
      var ticketOffered = data.ticket_open !== true
        && (data.event === "out_of_hours" || (data.status === "waiting" && data.nobody_online === true));
      if (data.event === "ticket_created" || data.status === "waiting" || data.status === "agent") ticketBox.hidden = true;
      if (ticketOffered) {
        ticketTitle.textContent = data.event === "out_of_hours" ? gettext("Leave your email and a message; we'll reply when we open.")
          : gettext("Leave your email and a message; we'll reply by email.");
        ticketBox.hidden = false;
      }
      // The event says the place in line when it has one (sent back to the queue, a second handoff).
      if (data.status === "waiting" && typeof data.position === "number") queuePosition(data);
      else if (data.status === "waiting") setState(gettext("Waiting for a person from our team\u2026"));
      else if (data.status) setState("");
      // A person (or the end of the chat) took over: a bot draft still streaming will never be stored.
      if (data.status && data.status !== "bot") Object.keys(pending).forEach(function (replyTo) {
        if (pending[replyTo].node.parentNode) log.removeChild(pending[replyTo].node);
        delete pending[replyTo];
      });
    }
    function queuePosition(frame) {
      if (typeof frame.position !== "number") return;
      setState(frame.position === 1 ? gettext("You're next in line for a person from our team.")
        : interpolate(gettext("You're number %(position)s in line for a person from our team."), { position: frame.position }));
    }

    // ---- state -----------------------------------------------------------------------------
    var socket = null, ready = false, lastSeq = 0, retries = 0, opened = false, reconnectTimer = null;
    var outbox = [];              // customer messages not yet acknowledged by a stored "message" frame
    var sending = {};             // client_id -> the bubble shown for an outbox message until it is stored
    var rendered = {};            // seq -> node
    var pending = {};             // reply_to seq -> {node, body, i, text}
    var answered = {};            // reply_to seq -> true once the stored answer arrived
    var maxChars = 4000;
    var status = "";              // the conversation's state: the customer's typing is sent only with a person
    var composingSentAt = 0, composingTimer = null;
    var COMPOSING_EVERY_MS = 2000, COMPOSING_SHOWN_MS = 5000;
    var currentSession = null;    // {token, ...} from the session endpoint, for photo uploads and downloads
    // The help-centre article this page shows (data-article, or open({article: key})): sent with the
    // next question only, which the server then reads as a follow-up of that article.
    var articleContext = script.getAttribute("data-article") || "";

    function setState(text) { stateBar.textContent = text || ""; stateBar.hidden = !text; }
    function showError(text) { errorLine.textContent = text || ""; }
    // The server's error texts are English, for developers (docs/protocol.md); the customer reads the ones
    // they can meet in the widget's language, by code. An unknown code keeps the server's text.
    function errorText(code, fallback, values) {
      var wait = values && typeof values.retry_after === "number" && values.retry_after > 0 ? values.retry_after : 0;
      switch (code) {
        case "empty_message": return gettext("Please write a message first.");
        // Translators: the limit is at least 100, so a plural form for small numbers is never needed.
        case "message_too_long": return interpolate(gettext("Messages are limited to %(limit)s characters."), { limit: maxChars });
        case "rate_limited": return wait
          ? interpolate(gettext("You are sending messages too fast; please wait %(seconds)s s."), { seconds: wait })
          : gettext("You are sending messages too fast; please wait a moment.");
        case "bad_text": return gettext("This message holds characters that cannot be sent.");
        case "internal_error": return gettext("Something went wrong on our side; please try again.");
        case "handoff_refused": return gettext("This conversation cannot be passed to a person right now.");
        case "bad_email": return gettext("Please give a valid email address.");
        case "bad_ticket": return gettext("Please write a message for our team.");
        case "ticket_open": return gettext("Your message for our team is already waiting; we'll reply by email.");
        case "already_rated": return gettext("This conversation has already been rated.");
        case "rating_not_open": return gettext("A conversation can be rated once it is resolved or closed.");
        case "too_large": case "too_many_pixels": return gettext("This photo is too large to send.");
        case "unsupported_type": return gettext("Please send a JPEG, PNG or WebP photo.");
        case "not_an_image": return gettext("This file could not be read as a photo.");
        case "conversation_closed": return gettext("This conversation is closed.");
        case "too_many_attachments": return gettext("This conversation has reached its limit of photos.");
        case "unknown_attachment": case "bad_attachment": return gettext("The photo could not be sent.");
        case "attachment_used": return gettext("This photo was already sent.");
        default: return fallback;
      }
    }
    // The log shrinks when something opens below it (the ticket form with nobody online, the transcript
    // form, the rating) or the state bar shows: a customer who was at the latest message stays there.
    // Pinned unless they scrolled up from where the widget put them: the scroll event of scrollDown()
    // itself may only fire once the log has already shrunk, when it no longer looks like the bottom.
    var logPinned = true, logPinnedTop = 0;
    function scrollDown() { log.scrollTop = log.scrollHeight; logPinnedTop = log.scrollTop; logPinned = true; }
    log.addEventListener("scroll", function () {
      logPinned = log.scrollTop >= logPinnedTop - 2 || log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    });
    if (window.ResizeObserver) new ResizeObserver(function () { if (logPinned) scrollDown(); }).observe(log);
    function newId() {
      if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
      return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2);
    }
    function roleLabel(frame) {
      if (frame.role === "customer") return gettext("You");
      if (frame.role === "agent") return frame.author || gettext("Support agent");
      return gettext("Assistant");
    }

    function bubble(role, label) {
      var node = el("div", "msg " + role);
      var who = el("span", "who");
      who.textContent = label;
      node.appendChild(who);
      // A message may be in another script than the widget (an English question in an Arabic widget).
      var body = el("span", "body", { dir: "auto" });
      node.appendChild(body);
      return { node: node, body: body };
    }

    // docs/protocol.md, the "outcome" of an answer that is not whole. Only a truncated answer needs a note:
    // an incomplete one's stored text ends with the server's own line saying so (which every client shows),
    // and an unavailable one is the apology itself.
    var outcomeNotes = {
      truncated: gettext("This answer reached its length limit, so it may stop mid-sentence.")
    };

    function renderMessage(frame) {
      if (rendered[frame.seq]) return;
      var node;
      if (frame.kind === "event" || frame.role === "system") {
        node = el("div", "event");
        node.textContent = frame.text;
      } else {
        var b = bubble(frame.role, roleLabel(frame));
        renderInline(b.body, frame.text);
        if (frame.attachment) showPhoto(b.node, frame.attachment);
        node = b.node;
        // A citation is "already linked" only if the text rendered a link to it: a bare relative
        // path such as "(/help/slug/)" in the text stays plain text and still needs its link.
        var linked = Array.prototype.map.call(b.body.querySelectorAll("a"), function (a) { return a.href; });
        var uncited = (frame.citations || []).filter(function (c) { return linked.indexOf(safeUrl(c.url)) === -1; });
        if (uncited.length) {
          var cites = el("div", "cites");
          cites.appendChild(document.createTextNode(gettext("Read more:") + " "));
          uncited.forEach(function (c, index) {
            var href = safeUrl(c.url);
            if (!href) return;
            if (index) cites.appendChild(document.createTextNode(" \u00B7 "));
            cites.appendChild(link(href, c.title));
          });
          node.appendChild(cites);
        }
        if (frame.fell_back) {
          var note = el("span", "notice");
          note.textContent = gettext("Answered by a backup model.");
          node.appendChild(note);
        }
        // An answer cut at its length limit says so under it, live and in the replay alike: the "notice" frame
        // about it was shown on the draft, which this message replaces.
        var outcomeNote = Object.prototype.hasOwnProperty.call(outcomeNotes, frame.outcome) ? outcomeNotes[frame.outcome] : "";
        if (outcomeNote) {
          var cut = el("span", "notice");
          cut.textContent = outcomeNote;
          node.appendChild(cut);
        }
      }
      node.setAttribute("data-seq", String(frame.seq));
      if (frame.reply_to !== undefined) node.setAttribute("data-reply-to", String(frame.reply_to));
      var streaming = frame.reply_to !== undefined && pending[frame.reply_to];
      var shown = frame.client_id && sending[frame.client_id];
      if (shown && shown.parentNode) {
        log.replaceChild(node, shown);   // the stored message takes the place of the one shown as sent
        delete sending[frame.client_id];
      } else if (streaming) {
        log.replaceChild(node, streaming.node);
        delete pending[frame.reply_to];
      } else {
        placeAnswer(node, frame.reply_to);
      }
      rendered[frame.seq] = node;
      if (frame.reply_to !== undefined) answered[frame.reply_to] = true;
      if (frame.seq > lastSeq) lastSeq = frame.seq;
      if (frame.client_id) outbox = outbox.filter(function (m) { return m.client_id !== frame.client_id; });
      scrollDown();
    }

    // An answer goes right after the question it replies to (and any earlier reply to it), not
    // at the bottom: a question sent while another is answered is stored before that answer, and
    // placing by reply_to shows the same order live, after a reload and in the replay.
    function placeAnswer(node, replyTo) {
      var question = replyTo !== undefined && rendered[replyTo];
      if (!question || !question.parentNode) { log.appendChild(node); return; }
      var next = question.nextSibling;
      while (next && next.getAttribute && next.getAttribute("data-reply-to") === String(replyTo)) next = next.nextSibling;
      log.insertBefore(node, next);
    }

    function pendingFor(replyTo, tier) {
      if (answered[replyTo]) return null;   // late frame for an answer already shown in full
      var p = pending[replyTo];
      if (!p) {
        var b = bubble("assistant", gettext("Assistant"));
        b.node.setAttribute("aria-busy", "true");
        var deep = el("span", "deep");
        b.node.insertBefore(deep, b.body);
        var typing = el("span", "typing", { "aria-label": gettext("Assistant is typing") });
        typing.textContent = "\u2022\u2022\u2022";
        b.node.appendChild(typing);
        p = pending[replyTo] = { node: b.node, body: b.body, deep: deep, typing: typing, i: 0, text: "" };
        b.node.setAttribute("data-reply-to", String(replyTo));
        placeAnswer(b.node, replyTo);
      }
      // Each "typing" names the tier answering now (another may take over before the first token).
      if (tier !== undefined) p.deep.textContent = tier === "thinking" ? gettext("Looking into this more deeply\u2026") : "";
      return p;
    }
    function pendingText(p, text) {
      p.text = text;
      p.body.textContent = "";
      renderInline(p.body, text, true);
      p.typing.hidden = true;
      scrollDown();
    }

    // ---- frames from the server ---------------------------------------------------------
    var handlers = {
      ready: function (f) {
        ready = true; retries = 0; setState(""); showError("");
        status = f.status;
        personBtn.hidden = f.status !== "bot";
        chatEnded();
        outbox.forEach(function (m) { sendFrame(m); });
        if (handoffWanted) {
          handoffWanted = false;
          personBtn.disabled = false;
          if (f.status === "bot") sendFrame({ type: "handoff" });
        }
      },
      message: function (f) {
        renderMessage(f);
        if (f.data && f.data.status) { status = f.data.status; personBtn.hidden = status !== "bot"; chatEnded(); }
        if (f.role === "agent" || (f.data && f.data.status && f.data.status !== "agent")) agentTyping(null);
        ratingOffer(f); handoffState(f);
      },
      composing: function (f) { if (f.role === "agent") agentTyping(f.author || ""); },
      queue: queuePosition,
      transcript_email_queued: transcriptQueued,
      typing: function (f) {
        // "typing" starts an answer from its first token: after a server restart the question is
        // answered afresh, so the cut draft's text and index must not be spliced onto the new one.
        // The same goes for a draft the server takes back (it was the model's reasoning): clear it now.
        var p = pendingFor(f.reply_to, f.tier);
        if (p && p.i) { p.i = 0; p.text = ""; p.body.textContent = ""; p.typing.hidden = false; }
      },
      token: function (f) {
        var p = pendingFor(f.reply_to);
        if (!p || f.i !== p.i + 1) return;   // duplicate (or stale) token: the final message will carry the truth
        p.i = f.i;
        pendingText(p, p.text + f.text);
      },
      stream: function (f) { var p = pendingFor(f.reply_to); if (p) { p.i = f.i; pendingText(p, f.text); } },
      notice: function (f) {
        var p = pendingFor(f.reply_to);
        if (!p) return;
        var note = el("span", "notice");
        note.textContent = f.text;
        p.node.appendChild(note);
      },
      error: function (f) {
        var text = errorText(f.code, f.message, f);
        if (f.client_id && unsent(f.client_id, text)) return;
        showError(text);
        if (f.code === "already_rated") { ratingDone = true; ratingBox.hidden = true; }
      },
      pong: function () {}
    };

    // The server refused a message (its error names the client_id): show it as not sent, with the
    // reason, and take it out of the outbox so no reconnect ever sends it again.
    function unsent(clientId, reason) {
      var refused = outbox.filter(function (m) { return m.client_id === clientId; })[0];
      if (!refused) return false;
      outbox = outbox.filter(function (m) { return m !== refused; });
      if (sending[clientId] && sending[clientId].parentNode) log.removeChild(sending[clientId]);
      delete sending[clientId];
      var b = bubble("customer unsent", gettext("Not sent"));
      b.body.textContent = refused.text;
      var why = el("span", "notice");
      why.textContent = reason;
      b.node.appendChild(why);
      log.appendChild(b.node);
      scrollDown();
      return true;
    }

    // Half an emoji (a lone UTF-16 surrogate) cannot be stored: browsers that can repair text do so
    // here; on others the server refuses the message and it is shown as not sent.
    function wellFormed(text) {
      return typeof text.toWellFormed === "function" ? text.toWellFormed() : text;
    }

    function agentTyping(author) {
      clearTimeout(composingTimer);
      composingLine.hidden = author === null;
      if (author === null) return;
      composingLine.textContent = author ? interpolate(gettext("%(name)s is typing\u2026"), { name: author })
        : gettext("Someone from our team is typing\u2026");
      composingTimer = setTimeout(function () { composingLine.hidden = true; }, COMPOSING_SHOWN_MS);
    }
    // Throttled: at most one frame every 2 s while the customer types, and only when a person may be reading.
    function composing() {
      if (!ready || (status !== "waiting" && status !== "agent") || !input.value.trim()) return;
      var now = Date.now();
      if (now - composingSentAt < COMPOSING_EVERY_MS) return;
      composingSentAt = now;
      sendFrame({ type: "composing" });
    }

    function sendFrame(frame) {
      if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
    }

    function stored() {
      var value;
      try { value = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { return null; }
      // A chat belongs to whoever was signed in when it began: another shopper (or none) starts afresh.
      return value && (value.user_id || "") === (identity ? identity.user_id : "") ? value : null;
    }
    function store(value) {
      try { if (value) localStorage.setItem(storageKey, JSON.stringify(value)); else localStorage.removeItem(storageKey); } catch (e) { /* private mode */ }
    }

    function session() {
      var existing = stored();
      if (existing && existing.token) return Promise.resolve(existing);
      var request = JSON.stringify(identity ? { identity: identity } : {});
      return fetch(server + "/api/widget/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: request })
        .then(function (r) {
          if (!r.ok) throw new Error(interpolate(gettext("The chat is not available on this site (%(status)s)."), { status: r.status }));
          return r.json();
        })
        .then(function (body) {
          body.user_id = identity ? identity.user_id : "";
          body.open = !panel.hidden;
          store(body);
          return body;
        });
    }
    // Whether the panel is open is kept with the chat it shows: a reload, or the next page of the shop,
    // opens it again where the customer left it (and another signed-in shopper starts closed, as a first visit).
    function panelRemember() {
      var existing = stored();
      if (existing) { existing.open = !panel.hidden; store(existing); }
    }

    function connect() {
      clearTimeout(reconnectTimer);
      setState(retries ? gettext("Reconnecting\u2026") : gettext("Connecting\u2026"));
      session().then(function (s) {
        maxChars = s.max_message_chars || maxChars;
        currentSession = s;
        socket = new WebSocket(s.websocket_url);
        socket.onopen = function () { socket.send(JSON.stringify({ type: "hello", token: s.token, last_seq: lastSeq })); };
        socket.onmessage = function (event) {
          var frame;
          try { frame = JSON.parse(event.data); } catch (e) { return; }
          var handler = handlers[frame.type];
          if (handler) handler(frame);
        };
        socket.onclose = function (event) {
          ready = false;
          if (event.code === 4401) store(null);   // token expired or revoked: start a fresh conversation
          scheduleReconnect();
        };
      }).catch(function (err) { showError(err.message); scheduleReconnect(); });
    }

    function chatEnded() {
      var ended = status === "closed";
      form.hidden = ended;
      newChatBtn.hidden = !ended;
    }

    // Forget the closed conversation and open a new one, as a first visit would.
    function newChat() {
      store(null);
      lastSeq = 0; status = ""; ready = false;
      outbox = []; rendered = {}; pending = {}; answered = {}; sending = {};
      ratingDone = false; ratingScore = 0;
      ratingBox.hidden = true; rateBtn.hidden = true; ticketBox.hidden = true; newChatBtn.hidden = true;
      form.hidden = false;
      while (log.firstChild) log.removeChild(log.firstChild);
      if (socket) { socket.onclose = null; socket.close(); socket = null; }
      retries = 0;
      connect();
      input.focus();
    }

    function scheduleReconnect() {
      retries += 1;
      var delay = Math.min(10000, 500 * Math.pow(2, Math.min(retries, 5))) * (0.5 + Math.random() / 2);
      setState(gettext("Reconnecting\u2026"));
      reconnectTimer = setTimeout(connect, delay);
    }

    // The photo is fetched with the token in a header, never in a URL, and shown from a blob: URL.
    function showPhoto(node, attachment) {
      if (!currentSession || !/^[\w-]{1,32}$/.test(attachment.id)) return;
      fetch(server + "/api/widget/attachments/" + attachment.id, { headers: { Authorization: "Bearer " + currentSession.token } })
        .then(function (r) { if (!r.ok) throw new Error(); return r.blob(); })
        .then(function (blob) {
          var img = el("img", "photo", { alt: gettext("Your photo") });
          img.src = URL.createObjectURL(blob);
          node.appendChild(img);
          scrollDown();
        })
        .catch(function () { /* the text still says a photo was sent */ });
    }

    function sendPhoto(file) {
      if (!currentSession) return;
      var body = new FormData();
      body.append("file", file);
      showError("");
      setState(gettext("Sending your photo\u2026"));
      fetch(server + "/api/widget/attachments", { method: "POST", headers: { Authorization: "Bearer " + currentSession.token }, body: body })
        .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(errorText(j.error, j.message || gettext("The photo could not be sent."))); return j; }); })
        .then(function (j) {
          setState("");
          var frame = { type: "message", text: wellFormed(input.value.trim()), client_id: newId(), attachment: j.attachment.id };
          input.value = "";
          outbox.push(frame);
          if (ready) sendFrame(frame);
        })
        .catch(function (err) { setState(""); showError(err.message); });
    }

    function submit() {
      var text = wellFormed(input.value.trim());
      if (!text) return;
      // The server counts Unicode code points (an emoji is one); a JS string's length counts UTF-16 units.
      if (Array.from(text).length > maxChars) { showError(errorText("message_too_long")); return; }
      var frame = { type: "message", text: text, client_id: newId() };
      if (articleContext) { frame.article = articleContext; articleContext = ""; }
      outbox.push(frame);
      // Shown at once, faded, so a message typed while the connection is down is not lost from sight.
      var b = bubble("customer sending", gettext("You"));
      renderInline(b.body, text);
      b.node.setAttribute("aria-busy", "true");
      log.appendChild(b.node);
      sending[frame.client_id] = b.node;
      scrollDown();
      input.value = "";
      showError("");
      if (ready) sendFrame(frame);
    }

    function open(options) {
      if (options && typeof options.article === "string" && options.article) articleContext = options.article;
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      panelRemember();
      // Reopened by itself on a page load, the panel leaves the focus where the page put it.
      if (!(options && options.restored)) input.focus();
      if (!opened) { opened = true; connect(); }
    }
    function close() {
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      panelRemember();
      launcher.focus();
    }

    launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
    closeBtn.addEventListener("click", close);
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
    });
    input.addEventListener("input", composing);
    // Pressed before the socket is ready (just after opening the widget, or while reconnecting):
    // kept and sent once it is, never dropped without a word.
    var handoffWanted = false;
    personBtn.addEventListener("click", function () {
      if (ready && socket && socket.readyState === 1) { sendFrame({ type: "handoff" }); return; }
      handoffWanted = true;
      personBtn.disabled = true;
    });
    attachBtn.addEventListener("click", function () { fileInput.click(); });
    fileInput.addEventListener("change", function () {
      if (fileInput.files && fileInput.files[0]) sendPhoto(fileInput.files[0]);
      fileInput.value = "";
    });

    window.__supportbotWidget = { open: open, close: close, shadowRoot: shadow };
    (document.body || document.documentElement).appendChild(host);
    var previous = stored();
    if (previous && previous.open) open({ restored: true });
    else if (previous) { opened = true; connect(); }
  }
})();
