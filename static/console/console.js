/* Supportbot agent console. Vanilla JS, no dependencies. Customer and model text is only ever
 * inserted as text nodes (textContent), never as HTML. The socket protocol is in docs/protocol.md
 * ("Agent console"); after a reconnect every open conversation catches up by seq.
 * Its words come translated from the page (#console-strings, filled in by {% translate %}). */
(function () {
  "use strict";
  var canned = JSON.parse(document.getElementById("canned-data").textContent);
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
  var conversations = {};   // public id -> {lastSeq, messages: [frames]}

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
  function send(frame) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame)); }

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
    queue: function (f) { queue = f; renderQueue(); renderHead(); },
    transcript: function (f) {
      var state = conversations[f.conversation] || (conversations[f.conversation] = { lastSeq: 0, messages: [] });
      state.card = f.card;
      f.messages.forEach(function (m) { addMessage(f.conversation, m); });
      if (selected === f.conversation) { renderHead(); renderLog(); }
    },
    message: function (f) {
      addMessage(f.conversation, f);
      if (selected === f.conversation) renderLog();
    },
    assigned: function (f) {
      notify(t("assigned"));
      if (!selected) select(f.conversation);
    },
    claim_lost: function (f) { showError(f.message); },
    done: function () { showError(""); },
    error: function (f) { showError(f.message); },
    pong: function () {}
  };

  function addMessage(id, frame) {
    var state = conversations[id] || (conversations[id] = { lastSeq: 0, messages: [] });
    if (frame.seq <= state.lastSeq) return;   // already shown: a reconnect or a late doorbell
    state.messages.push(frame);
    state.lastSeq = frame.seq;
  }

  function notify(text) {
    document.title = "(!) " + t("title") + " · Supportbot";
    setTimeout(function () { document.title = t("title") + " · Supportbot"; }, 4000);
    showError(text);
  }
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
    li.addEventListener("click", function () { select(item.conversation); });
    li.addEventListener("keydown", function (e) { if (e.key === "Enter") select(item.conversation); });
    return li;
  }

  function renderQueue() {
    if (!queue) return;
    clear($("mine"));
    queue.mine.forEach(function (item) { $("mine").appendChild(card(item)); });
    clear($("waiting"));
    queue.waiting.forEach(function (item) {
      $("waiting").appendChild(card(item, item.assigned_to_id === queue.agent.id ? " assigned-to-me" : ""));
    });
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
    $("online-toggle").checked = !!queue.agent.online;
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
    $("chat-meta").textContent = statusWord("status", item.status) + (item.tier ? " · " + t("tier", { tier: item.tier }) : "") + " · $" + Number(item.cost).toFixed(4);
    var mine = queue && queue.mine.some(function (c) { return c.conversation === selected; });
    $("claim-btn").disabled = item.status !== "waiting";
    $("handback-btn").disabled = !mine;
    $("close-btn").disabled = !mine;
    $("reply-text").disabled = !mine;
    renderCustomer(item.customer);
    $("chat-summary").textContent = item.summary && item.summary.text ? item.summary.text
      : item.summary && item.summary.status !== "none" ? t("summaryStatus", { status: statusWord("summary", item.summary.status) })
      : t("summaryUnavailable");
  }

  function renderLog() {
    var log = $("chat-log");
    clear(log);
    (conversations[selected] ? conversations[selected].messages : []).forEach(function (m) {
      if (m.kind === "event") { log.appendChild(el("div", "event", m.text)); return; }
      var node = el("div", "msg " + m.role);
      var who = m.role === "customer" ? t("customer") : m.role === "agent" ? (m.author || t("agent"))
        : m.tier ? t("assistantTier", { tier: m.tier }) : t("assistant");
      node.appendChild(el("span", "who", who));
      var body = el("span", "body", m.text);
      body.dir = "auto";   // a customer may write in another script than the console's
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
    });
    log.scrollTop = log.scrollHeight;
  }

  function select(id) {
    selected = id;
    $("chat").hidden = false;
    $("empty").hidden = true;
    showError("");
    var state = conversations[id];
    send({ type: "open", conversation: id, last_seq: state ? state.lastSeq : 0 });
    renderQueue(); renderHead(); renderLog();
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
  $("online-toggle").addEventListener("change", function (e) { send({ type: "online", online: e.target.checked }); });
  $("canned").addEventListener("change", function (e) {
    var choice = canned[Number(e.target.value)];
    if (choice) { $("reply-text").value = choice.text; $("reply-text").focus(); }
    e.target.value = "";
  });
  function reply() {
    var text = $("reply-text").value.trim();
    if (!text || !selected) return;
    send({ type: "reply", conversation: selected, text: text, client_id: newId() });
    $("reply-text").value = "";
  }
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
