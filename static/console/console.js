/* Supportbot agent console. Vanilla JS, no dependencies. Customer and model text is only ever
 * inserted as text nodes (textContent), never as HTML. The socket protocol is in docs/protocol.md
 * ("Agent console"); after a reconnect every open conversation catches up by seq.
 * Its words come translated from the page (#console-strings, filled in by {% translate %}). */
(function () {
  "use strict";
  var canned = JSON.parse(document.getElementById("canned-data").textContent);
  var labels = JSON.parse(document.getElementById("labels-data").textContent);   // {tags, reasons}
  var strings = document.getElementById("console-strings").dataset;
  // A string in the agent's language; "%(name)s" placeholders are filled from values.
  function t(key, values) {
    var text = strings[key] || key;
    return text.replace(/%\((\w+)\)s/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  function statusWord(prefix, status) {
    var key = prefix + status.charAt(0).toUpperCase() + status.slice(1);
    return strings[key] || status;
  }
  var $ = function (id) { return document.getElementById(id); };
  var socket = null, retries = 0, queue = null, selected = null, reconnectTimer = null;
  var conversations = {};   // public id -> {lastSeq, messages: [frames], notes: {id: frame}, labels}
  var waitingSeen = null;   // waiting chats already announced (null until the first snapshot)
  var composingSentAt = 0, composingTimer = null;
  var COMPOSING_EVERY_MS = 2000, COMPOSING_SHOWN_MS = 5000;
  var ASKED_KEY = "supportbot:console:notifications-asked", SOUND_KEY = "supportbot:console:sound";
  var audio = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function waited(iso) {
    if (!iso) return "";
    var seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return seconds < 60 ? t("waitedSeconds", { seconds: seconds })
      : t("waitedMinutes", { minutes: Math.floor(seconds / 60), seconds: seconds % 60 });
  }
  function safeUrl(url) {
    try {
      var parsed = new URL(url, location.href);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") return parsed.href;
    } catch (e) { /* not a URL */ }
    return null;
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "a" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // ---- the socket --------------------------------------------------------------------
  // What the agent does while the socket is down (a reply, a claim, closing a chat) waits in the outbox and
  // goes out once it is back, after the catch-up: replies carry a client_id, so a resend is stored once.
  // Frames that only matter now (typing, pings, searches, catch-ups) are not kept.
  var outbox = [];
  var onlineChosen = null;  // the agent's change of "Taking chats" that no queue has reported yet
  var TRANSIENT = { composing: true, ping: true, search: true, open: true };
  function send(frame) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
    else if (!TRANSIENT[frame.type]) outbox.push(frame);
  }

  function connect() {
    clearTimeout(reconnectTimer);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/console/");
    socket.onopen = function () {
      retries = 0;
      setConnection(t("live"), true);
      // Catch up every conversation this page shows, from the last seq it has.
      Object.keys(conversations).forEach(function (id) {
        send({ type: "open", conversation: id, last_seq: conversations[id].lastSeq });
      });
      var waiting = outbox;
      outbox = [];
      waiting.forEach(send);
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      var handler = handlers[frame.type];
      if (handler) handler(frame);
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4403) {
        setConnection(t("signedOut"), false);
        location.href = "/console/login/?next=/console/";
        return;
      }
      retries += 1;
      setConnection(t("reconnecting"), false);
      reconnectTimer = setTimeout(connect, Math.min(10000, 400 * Math.pow(2, Math.min(retries, 5))));
    };
  }
  function setConnection(text, live) {
    $("connection").textContent = text;
    $("connection").className = "connection" + (live ? " live" : "");
  }

  // ---- frames from the server -------------------------------------------------------------
  var handlers = {
    queue: function (f) { queue = f; announceWaiting(); renderQueue(); renderHead(); },
    transcript: function (f) {
      var state = stateOf(f.conversation);
      state.card = f.card;
      state.labels = { tags: f.tags, reasons: f.reasons, batch_reasons: f.batch_reasons };
      f.messages.forEach(function (m) { addMessage(f.conversation, m); });
      (f.notes || []).forEach(function (n) { state.notes[n.id] = n; });
      if (selected === f.conversation) { renderHead(); renderLog(); renderLabels(); }
    },
    message: function (f) {
      if (addMessage(f.conversation, f)) cardFollow(f.conversation, f);
      if (f.role === "customer" && selected === f.conversation) customerTyping(false);
      if (selected === f.conversation) { renderHead(); renderLog(); }
    },
    note: function (f) {
      stateOf(f.conversation).notes[f.id] = f;
      if (selected === f.conversation) renderLog();
    },
    labels: function (f) {
      stateOf(f.conversation).labels = f;
      if (selected === f.conversation) renderLabels();
    },
    // A newer summary of a conversation this page opened: its card says it now, in a list or not.
    summary: function (f) {
      var state = conversations[f.conversation];
      if (state && state.card) state.card.summary = f.summary;
      if (queue) queue.mine.concat(queue.waiting).forEach(function (item) {
        if (item.conversation === f.conversation) item.summary = f.summary;
      });
      renderQueue();
      if (selected === f.conversation) renderHead();
    },
    composing: function (f) { if (f.role === "customer" && f.conversation === selected) customerTyping(true); },
    search_results: renderSearch,
    assigned: function (f) {
      notify(t("assigned"), f.conversation);
      if (!selected) select(f.conversation);
    },
    claim_lost: function (f) { showError(f.message); },
    done: function () { showError(""); },
    error: function (f) { showError(f.message); },
    pong: function () {}
  };

  function stateOf(id) {
    return conversations[id] || (conversations[id] = { lastSeq: 0, messages: [], notes: {}, labels: null });
  }
  // The card a conversation was opened with, kept true by the state changes that follow: a chat that
  // leaves this agent's lists (transferred, closed) is in no queue snapshot any more, so its header
  // would otherwise go on showing how things stood when it was opened.
  function cardFollow(id, frame) {
    var data = frame.data || {}, state = conversations[id];
    if (frame.kind !== "event" || !data.status || !state || !state.card) return;
    var item = state.card;
    item.status = data.status;
    // As the server keeps it: an event naming an agent (joined, transferred, offered) assigns the chat to
    // them; closing keeps its last agent; every other move leaves it with nobody.
    if (data.agent || data.status !== "closed") { item.assigned_to = data.agent || ""; item.assigned_to_id = null; }
    if (data.status !== "waiting") item.position = null;
    else if (typeof data.position === "number") item.position = data.position;
  }
  function addMessage(id, frame) {
    var state = stateOf(id);
    if (frame.seq <= state.lastSeq) return false;   // already shown: a reconnect or a late doorbell
    state.messages.push(frame);
    state.lastSeq = frame.seq;
    return true;
  }

  // ---- telling the agent: the title, a desktop notification, and a sound if they want one ----------
  function notify(text, conversation) {
    document.title = "(!) " + t("title") + " · Supportbot";
    setTimeout(function () { document.title = t("title") + " · Supportbot"; }, 4000);
    showError(text);
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        var shown = new Notification(text, { tag: "supportbot-" + (conversation || "console"), body: t("title") + " · Supportbot" });
        shown.onclick = function () { window.focus(); if (conversation) select(conversation); shown.close(); };
      } catch (e) { /* some browsers allow notifications only from a service worker */ }
    }
    if ($("sound-toggle").checked) chime();
  }
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var tone = audio.createOscillator(), volume = audio.createGain();
      tone.frequency.value = 880;
      volume.gain.setValueAtTime(0.08, audio.currentTime);
      volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
      tone.connect(volume); volume.connect(audio.destination);
      tone.start(); tone.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio here */ }
  }
  // A chat that starts waiting while the agent takes chats is announced once (not those already there on load).
  function announceWaiting() {
    var ids = queue.waiting.map(function (item) { return item.conversation; });
    if (waitingSeen !== null && queue.agent.online) {
      var fresh = ids.filter(function (id) { return !waitingSeen[id]; });
      if (fresh.length) notify(t("newWaiting"), fresh[0]);
    }
    waitingSeen = waitingSeen || {};
    ids.forEach(function (id) { waitingSeen[id] = true; });
  }
  // Permission is asked once, ever: from the button, or at the agent's first click on the page.
  function notificationsRender() {
    var button = $("notify-btn");
    if (!("Notification" in window)) { button.hidden = true; return; }
    button.hidden = Notification.permission === "granted";
    button.disabled = Notification.permission === "denied";
    if (Notification.permission === "denied") button.textContent = t("notifyBlocked");
  }
  var askedNow = false;
  function notificationsAsk() {
    if (askedNow || !("Notification" in window) || Notification.permission !== "default") return;
    askedNow = true;
    try { localStorage.setItem(ASKED_KEY, "1"); } catch (e) { /* private mode */ }
    var asked = Notification.requestPermission(notificationsRender);
    if (asked && asked.then) asked.then(notificationsRender);
  }
  function askedBefore() { try { return !!localStorage.getItem(ASKED_KEY); } catch (e) { return false; } }
  function showError(text) { $("chat-error").textContent = text || ""; }

  // ---- rendering ----------------------------------------------------------------------------
  function card(item, extra) {
    var li = el("li", "card" + (item.conversation === selected ? " selected" : "") + (extra || ""));
    li.tabIndex = 0;
    var line = el("div", "line");
    if (item.position) line.appendChild(el("span", "", "#" + item.position));
    if (item.waiting_since && item.status === "waiting") line.appendChild(el("span", "waited", t("waitingFor", { time: waited(item.waiting_since) })));
    line.appendChild(el("span", "", item.tier ? t("tier", { tier: item.tier }) : t("noAnswer")));
    line.appendChild(el("span", "", "$" + Number(item.cost).toFixed(4)));
    if (item.assigned_to) line.appendChild(el("span", "", "→ " + item.assigned_to));
    li.appendChild(line);
    if (item.customer) li.appendChild(el("div", "customer", customerLabel(item.customer)));
    li.appendChild(el("div", "text", item.last_customer_text || t("noMessage")));
    // Why a person is needed (a photo no model can read, the button, the bot unsure) before opening the chat.
    if (item.handoff_reason) li.appendChild(el("div", "reason", t("why", { reason: item.handoff_reason })));
    var summary = item.summary && item.summary.status === "done" ? item.summary.text
      : t("summaryStatus", { status: statusWord("summary", item.summary ? item.summary.status : "none") });
    li.appendChild(el("div", "summary-line", summary));
    var names = tagNames(item.tags);
    if (names.length) li.appendChild(el("div", "tag-line", "# " + names.join(" · # ")));
    li.addEventListener("click", function () { select(item.conversation, { reveal: true }); });
    li.addEventListener("keydown", function (e) { if (e.key === "Enter") select(item.conversation, { reveal: true }); });
    return li;
  }

  function tagged(item) {
    var tag = $("tag-filter").value;
    return !tag || (item.tags || []).indexOf(Number(tag)) !== -1;
  }
  function tagNames(ids) {
    return labels.tags.filter(function (tag) { return (ids || []).indexOf(tag.id) !== -1; }).map(function (tag) { return tag.name; });
  }
  function renderQueue() {
    if (!queue) return;
    clear($("mine"));
    queue.mine.filter(tagged).forEach(function (item) { $("mine").appendChild(card(item)); });
    clear($("waiting"));
    queue.waiting.filter(tagged).forEach(function (item) {
      $("waiting").appendChild(card(item, item.assigned_to_id === queue.agent.id ? " assigned-to-me" : ""));
    });
    var transfer = $("transfer-to"), chosen = transfer.value;
    while (transfer.options.length > 1) transfer.remove(1);
    (queue.agents || []).forEach(function (agent) {
      var option = el("option", "", agent.name);
      option.value = String(agent.id);
      transfer.appendChild(option);
    });
    transfer.value = chosen;
    if (transfer.value !== chosen) transfer.value = "";
    $("waiting-count").textContent = String(queue.waiting.length);
    clear($("tickets"));
    queue.tickets.forEach(function (ticket) {
      var li = el("li", "card");
      li.appendChild(el("div", "line", ticket.email + " · " + new Date(ticket.created_at).toLocaleString()));
      li.appendChild(el("div", "text", ticket.text));
      var reply = ticketReplyBox(ticket.ticket);
      li.appendChild(reply);
      var done = el("button", "btn secondary", t("done"));
      done.type = "button";
      done.addEventListener("click", function () {
        send({ type: "ticket_done", ticket: ticket.ticket, reply: reply.value.trim() });
        delete ticketDrafts[ticket.ticket];
      });
      li.appendChild(done);
      $("tickets").appendChild(li);
    });
    $("ticket-count").textContent = String(queue.tickets.length);
    // A queue sent before the server read the agent's own change would flip the switch back: it shows what the
    // agent chose until a queue reports that choice (the change waits in the outbox while the socket is down).
    var online = !!queue.agent.online;
    if (onlineChosen === null || onlineChosen === online) {
      onlineChosen = null;
      $("online-toggle").checked = online;
    }
    // Until the first queue says whether the agent takes chats, the switch is not shown as either.
    $("online-toggle").disabled = false;
  }

  function currentCard() {
    if (!selected) return null;
    var all = queue ? queue.mine.concat(queue.waiting) : [];
    for (var i = 0; i < all.length; i++) if (all[i].conversation === selected) return all[i];
    return conversations[selected] && conversations[selected].card;
  }

  function renderHead() {
    var item = currentCard();
    if (!item) return;
    $("chat-title").textContent = t("conversation", { id: item.conversation.slice(0, 8) });
    $("chat-meta").textContent = statusWord("status", item.status) + (item.assigned_to ? " → " + item.assigned_to : "")
      + (item.tier ? " · " + t("tier", { tier: item.tier }) : "") + " · $" + Number(item.cost).toFixed(4);
    var mine = queue && queue.mine.some(function (c) { return c.conversation === selected; });
    $("claim-btn").disabled = item.status !== "waiting";
    $("handback-btn").disabled = !mine;
    $("close-btn").disabled = !mine;
    $("transfer-btn").disabled = !mine;
    $("transfer-to").disabled = !mine;
    // Anyone on the team may leave a note; only the chat's agent writes to the customer.
    $("reply-text").disabled = !mine && !$("note-mode").checked;
    renderCustomer(item.customer);
    $("chat-summary").textContent = item.summary && item.summary.text ? item.summary.text
      : item.summary && item.summary.status !== "none" ? t("summaryStatus", { status: statusWord("summary", item.summary.status) })
      : t("summaryUnavailable");
  }

  // Notes sit after the message whose seq they name; they are the team's, never the customer's.
  function notesAfter(state) {
    var after = {};
    Object.keys(state.notes).map(function (id) { return state.notes[id]; })
      .sort(function (a, b) { return a.after_seq - b.after_seq || a.id - b.id; })
      .forEach(function (note) { (after[note.after_seq] = after[note.after_seq] || []).push(note); });
    return after;
  }
  function noteNode(note) {
    var node = el("div", "msg note");
    node.appendChild(el("span", "who", note.author ? t("noteBy", { name: note.author }) : t("note")));
    var body = el("span", "body", note.text);
    body.dir = "auto";
    node.appendChild(body);
    return node;
  }
  function eventText(m) {
    var data = m.data || {};
    if (data.event === "reoffered") return t("reoffered", { agent: data.agent, previous: data.previous_agent, time: waitedFor(data.unopened_s) });
    if (data.event === "transferred") return data.agent ? t("transferredTo", { previous: data.previous_agent, agent: data.agent }) : t("transferredQueue", { previous: data.previous_agent });
    return m.text;
  }
  function waitedFor(seconds) {
    seconds = Number(seconds) || 0;
    return seconds < 60 ? t("waitedSeconds", { seconds: seconds }) : t("waitedMinutes", { minutes: Math.floor(seconds / 60), seconds: seconds % 60 });
  }
  function renderLog() {
    var log = $("chat-log");
    clear(log);
    var state = conversations[selected];
    if (!state) return;
    var after = notesAfter(state);
    (after[0] || []).forEach(function (note) { log.appendChild(noteNode(note)); });
    var shownSeqs = {};
    state.messages.forEach(function (m) {
      shownSeqs[m.seq] = true;
      renderMessage(log, m);
      (after[m.seq] || []).forEach(function (note) { log.appendChild(noteNode(note)); });
    });
    // A note after a message this page has not loaded (opened mid-conversation) still shows, at the end.
    Object.keys(after).forEach(function (seq) {
      if (Number(seq) && !shownSeqs[seq]) after[seq].forEach(function (note) { log.appendChild(noteNode(note)); });
    });
    log.scrollTop = log.scrollHeight;
  }
  // The language detected in a customer's message, named in the console's language ("es" → "Spanish").
  var languageNames = null;
  try { languageNames = new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "language" }); } catch (e) { /* older browsers: the code */ }
  function languageName(code) {
    try { return (languageNames && languageNames.of(code)) || code; } catch (e) { return code; }
  }
  function renderMessage(log, m) {
    if (m.kind === "event") { log.appendChild(el("div", "event", eventText(m))); return; }
    var node = el("div", "msg " + m.role);
    var who = m.role === "customer" ? t("customer") : m.role === "agent" ? (m.author || t("agent"))
      : m.tier ? t("assistantTier", { tier: m.tier }) : t("assistant");
    if (m.language) who += " · " + languageName(m.language);
    node.appendChild(el("span", "who", who));
    var body = el("span", "body", m.text);
    body.dir = "auto";   // a customer may write in another script than the console's
    if (m.language) body.lang = m.language;
    node.appendChild(body);
    if (m.attachment && /^[\w-]{1,32}$/.test(m.attachment.id)) {
      // Served to staff by their session; a click opens it full size.
      var photo = el("a", "photo-link");
      photo.href = "/api/widget/attachments/" + m.attachment.id;
      photo.target = "_blank"; photo.rel = "noopener noreferrer";
      var img = el("img", "photo");
      img.src = photo.href;
      img.alt = t("photo");
      photo.appendChild(img);
      node.appendChild(photo);
    }
    if (m.citations && m.citations.length) {
      var sources = el("div", "sources", t("sources") + " ");
      m.citations.forEach(function (c, i) {
        var href = safeUrl(c.url);
        if (i) sources.appendChild(document.createTextNode(" · "));
        if (!href) { sources.appendChild(document.createTextNode(c.title)); return; }
        var a = el("a", "", c.title);
        a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer";
        sources.appendChild(a);
      });
      node.appendChild(sources);
    }
    log.appendChild(node);
  }

  function renderLabels() {
    var state = conversations[selected];
    var current = state && state.labels ? state.labels : { tags: [], reasons: [], batch_reasons: [] };
    Array.prototype.forEach.call($("tag-boxes").querySelectorAll("input"), function (box) {
      box.checked = current.tags.indexOf(Number(box.value)) !== -1;
    });
    Array.prototype.forEach.call($("reason-boxes").querySelectorAll("label"), function (label) {
      var box = label.querySelector("input");
      box.checked = current.reasons.indexOf(Number(box.value)) !== -1;
      var mark = label.querySelector(".suggested");
      var suggested = current.batch_reasons.indexOf(Number(box.value)) !== -1;
      if (suggested && !mark) label.appendChild(el("span", "suggested", " " + t("suggested")));
      if (!suggested && mark) label.removeChild(mark);
    });
  }

  function customerTyping(on) {
    clearTimeout(composingTimer);
    $("chat-composing").hidden = !on;
    $("chat-composing").textContent = on ? t("customerTyping") : "";
    if (on) composingTimer = setTimeout(function () { customerTyping(false); }, COMPOSING_SHOWN_MS);
  }

  function renderSearch(f) {
    var list = $("search-results");
    clear(list);
    $("search-box").hidden = false;
    $("search-count").textContent = String(f.results.length);
    if (!f.results.length) { list.appendChild(el("li", "meta", t("noResults"))); return; }
    f.results.forEach(function (item) {
      var li = el("li", "card" + (item.conversation === selected ? " selected" : ""));
      li.tabIndex = 0;
      var line = el("div", "line");
      line.appendChild(el("span", "", statusWord("status", item.status)));
      line.appendChild(el("span", "", t("started", { date: new Date(item.created_at).toLocaleString() })));
      if (item.assigned_to) line.appendChild(el("span", "", "→ " + item.assigned_to));
      li.appendChild(line);
      if (item.match) {
        var text = el("div", "text", item.match.text);
        text.dir = "auto";
        li.appendChild(text);
      } else {
        li.appendChild(el("div", "text", t("conversation", { id: item.conversation.slice(0, 8) })));
      }
      var names = tagNames(item.tags);
      if (names.length) li.appendChild(el("div", "tag-line", "# " + names.join(" · # ")));
      li.addEventListener("click", function () { select(item.conversation, { reveal: true }); });
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") select(item.conversation, { reveal: true }); });
      list.appendChild(li);
    });
  }

  // On a phone-wide screen the chat sits below the lists: a chat the agent picks is brought into view
  // (not one opened for them, e.g. on an assignment, which must not move the page under their finger).
  var NARROW = window.matchMedia("(max-width: 720px)");
  function select(id, options) {
    selected = id;
    $("chat").hidden = false;
    $("empty").hidden = true;
    showError("");
    customerTyping(false);
    var state = conversations[id];
    send({ type: "open", conversation: id, last_seq: state ? state.lastSeq : 0 });
    renderQueue(); renderHead(); renderLog(); renderLabels();
    if (options && options.reveal && NARROW.matches) $("chat").scrollIntoView({ block: "start" });
  }

  // ---- who the customer is, and replies to tickets by email (docs/integrations.md) ---------------
  function customerLabel(customer) {
    return t("verifiedCustomer", { who: [customer.name, customer.email, customer.user_id].filter(Boolean).join(" · ") });
  }
  function renderCustomer(customer) {
    var box = $("chat-customer");
    clear(box);
    box.hidden = !customer;
    if (!customer) return;
    box.appendChild(el("span", "", customerLabel(customer)));
    if (!customer.other_conversation_count) return;
    box.appendChild(el("span", "", " · " + t("otherConversations", { count: customer.other_conversation_count }) + " "));
    customer.other_conversations.forEach(function (other) {
      var open = el("button", "btn link", new Date(other.created_at).toLocaleDateString() + " (" + statusWord("status", other.status) + ")");
      open.type = "button";
      open.addEventListener("click", function () { select(other.conversation); });
      box.appendChild(open);
    });
  }
  // The queue re-renders on every change: what an agent is typing to a ticket is kept here meanwhile.
  var ticketDrafts = {};
  function ticketReplyBox(ticketId) {
    var box = el("textarea", "ticket-reply");
    box.rows = 3;
    box.dir = "auto";
    box.placeholder = t("replyByEmail");
    box.setAttribute("aria-label", t("replyByEmail"));
    box.value = ticketDrafts[ticketId] || "";
    box.addEventListener("input", function () { ticketDrafts[ticketId] = box.value; });
    return box;
  }

  // ---- actions -------------------------------------------------------------------------------
  $("claim-btn").addEventListener("click", function () { send({ type: "claim", conversation: selected }); });
  $("handback-btn").addEventListener("click", function () { send({ type: "hand_back", conversation: selected }); });
  $("close-btn").addEventListener("click", function () {
    if (window.confirm(t("closeConfirm"))) send({ type: "close", conversation: selected });
  });
  $("online-toggle").addEventListener("change", function (e) {
    onlineChosen = e.target.checked;
    send({ type: "online", online: onlineChosen });
  });
  $("canned").addEventListener("change", function (e) {
    var choice = canned[Number(e.target.value)];
    if (choice) { $("reply-text").value = choice.text; $("reply-text").focus(); }
    e.target.value = "";
  });
  function reply() {
    var text = $("reply-text").value.trim();
    if (!text || !selected) return;
    send({ type: $("note-mode").checked ? "note" : "reply", conversation: selected, text: text, client_id: newId() });
    $("reply-text").value = "";
  }
  $("note-mode").addEventListener("change", function (e) {
    $("reply-form").classList.toggle("noting", e.target.checked);
    $("reply-text").placeholder = e.target.checked ? t("writeNote") : t("writeReply");
    renderHead();
  });
  // The customer sees "Sam is typing…": at most one frame every 2 s, and never for a note.
  $("reply-text").addEventListener("input", function () {
    if ($("note-mode").checked || !selected || !$("reply-text").value.trim()) return;
    var now = Date.now();
    if (now - composingSentAt < COMPOSING_EVERY_MS) return;
    composingSentAt = now;
    send({ type: "composing", conversation: selected });
  });
  $("transfer-btn").addEventListener("click", function () {
    var to = $("transfer-to").value;
    send({ type: "transfer", conversation: selected, to: to ? Number(to) : null });
  });
  $("tag-boxes").addEventListener("change", function (e) {
    if (selected && e.target.type === "checkbox") send({ type: "tag", conversation: selected, tag: Number(e.target.value), on: e.target.checked });
  });
  $("reason-boxes").addEventListener("change", function () {
    if (!selected) return;
    var chosen = Array.prototype.filter.call($("reason-boxes").querySelectorAll("input"), function (box) { return box.checked; })
      .map(function (box) { return Number(box.value); });
    send({ type: "reasons", conversation: selected, reasons: chosen });
  });
  function search() {
    var query = $("search-text").value.trim(), tag = $("tag-filter").value;
    if (!query && !tag) { $("search-box").hidden = true; return; }
    send({ type: "search", query: query, tag: tag ? Number(tag) : null });
  }
  var searchTimer = null;
  $("search-form").addEventListener("submit", function (e) { e.preventDefault(); search(); });
  $("search-text").addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(search, 300); });
  $("tag-filter").addEventListener("change", function () { renderQueue(); search(); });
  $("notify-btn").addEventListener("click", notificationsAsk);
  document.addEventListener("click", function once() {
    document.removeEventListener("click", once, true);
    if (!askedBefore()) notificationsAsk();
  }, true);
  try { $("sound-toggle").checked = localStorage.getItem(SOUND_KEY) === "1"; } catch (e) { /* private mode */ }
  $("sound-toggle").addEventListener("change", function (e) {
    try { localStorage.setItem(SOUND_KEY, e.target.checked ? "1" : "0"); } catch (err) { /* private mode */ }
    if (e.target.checked) chime();
  });
  notificationsRender();
  $("reply-form").addEventListener("submit", function (e) { e.preventDefault(); reply(); });
  $("reply-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); reply(); }
  });

  setInterval(function () {
    var spans = document.querySelectorAll("#waiting .waited");
    if (queue) queue.waiting.forEach(function (item, i) { if (spans[i]) spans[i].textContent = t("waitingFor", { time: waited(item.waiting_since) }); });
  }, 1000);
  setInterval(function () { send({ type: "ping" }); }, 25000);
  connect();
})();
