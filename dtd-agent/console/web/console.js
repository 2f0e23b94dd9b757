// cardperso retailer console: mirrors the shop PC's state (one "state" message after every
// change) and sends the clerk's forms. It never handles a PIN or a key: those stay on the terminal.
"use strict";

(function () {
  // What the clerk should read for each of the terminal's display states (prompt codes).
  const PROMPTS = {
    ready: "The terminal is signed on and waiting for the shop PC.",
    insert_retailer_card: "Insert the retailer card in the terminal",
    enter_retailer_pin: "The retailer types the retailer card's PIN on the terminal's keypad",
    wrong_retailer_pin: "Wrong retailer PIN: type it again on the terminal's keypad",
    retailer_card_blocked: "The retailer card is blocked. Contact the issuer to unblock it.",
    signed_on: "The retailer is signed on",
    remove_retailer_card: "Remove the retailer card from the terminal",
    insert_customer_card: "Insert the customer's card in the terminal",
    confirm_on_terminal: "Check the name, ID and card on the terminal's screen, then press OK or Cancel on its keypad",
    cancelled: "Cancelled on the terminal. Nothing was written to the card.",
    enter_customer_pin: "The customer types a new PIN on the terminal's keypad",
    enter_customer_pin_again: "The customer types the new PIN again on the terminal's keypad",
    pins_differ: "The two PINs differ: the customer types the new PIN again on the terminal's keypad",
    enter_customer_puk: "The customer types a PUK on the terminal's keypad",
    writing: "Writing the card. Do not remove it.",
    card_done: "The card is ready",
    card_failed: "Writing the card failed",
    card_refused: "The issuer refused this card",
    remove_customer_card: "Remove the customer's card from the terminal",
    session_ended: "The session has ended. The terminal can be switched off.",
    refused: "The issuer refused the sign-on or the session"
  };

  const LINK_TEXT = {
    ads: { up: "connected", down: "not connected" },
    terminal: { up: "connected", down: "not connected" },
    retailer: { signed_on: "signed on", none: "not signed on" }
  };

  const KIND_TEXT = { "new": "New customer", modification: "Modification" };
  const STATUS_TEXT = {
    queued: "waiting to be sent",
    sent: "sent to the issuer, waiting for its decision",
    go: "go: follow the terminal",
    no_go: "no-go: the issuer refused it",
    done: "done"
  };
  const RESULT_TEXT = {
    personalised: "Personalised",
    modified: "Modified",
    refused: "Refused",
    failed: "Failed",
    no_go: "No-go"
  };
  const ADVICE = {
    refused: "Do not give this card to the customer. Keep it aside and use another blank card, or call the issuer if the reason is not clear.",
    failed: "The card may be partly written: keep it aside, do not give it to the customer, and start again with another blank card. The issuer's record says what was done.",
    no_go: "Nothing was written. Explain the reason to the customer; correct the details and send the form again if that is the problem."
  };

  const NEW_FIELDS = ["name", "date_of_birth", "address", "id_document", "id_number", "email"];
  // The issuer's limits (ads-server/policy customer_details) where they are tighter than the
  // console's own (name 128, address 256, id_number 64, email 128): nothing the issuer refuses for
  // its length leaves the page.
  const MAX_LENGTH = { name: 100, address: 200, id_document: 32, id_number: 32, email: 128 };
  const FIELD_LABEL = {
    name: "Name", date_of_birth: "Date of birth", address: "Address",
    id_document: "ID document", id_number: "ID number", email: "Email",
    iccid: "ICCID", spn: "SPN", plmnsel: "PLMN list", msisdn: "New number"
  };
  const MOD_FIELDS = ["iccid", "spn", "plmnsel", "msisdn"];
  // eslint-disable-next-line no-control-regex
  const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

  let socket = null;
  let retryDelay = 500;
  let retryTimer = null;
  let rules = { required: [], min_age: null };
  let lastState = null;
  let sending = { "new": false, modification: false };

  function $(id) { return document.getElementById(id); }

  function setText(id, text) { $(id).textContent = text; }

  function show(id, visible) { $(id).hidden = !visible; }

  // --- connection -----------------------------------------------------------------------------

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(scheme + "//" + window.location.host + "/ws");
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", function () {
      retryDelay = 500;
      setConnection("Connected to the shop PC.", false);
      document.body.classList.add("online");
    });
    ws.addEventListener("message", function (event) { onMessage(event.data); });
    ws.addEventListener("close", function () {
      if (socket === ws) {
        socket = null;
        document.body.classList.remove("online");
        sending = { "new": false, modification: false };
        updateButtons();
        scheduleReconnect();
      }
    });
    ws.addEventListener("error", function () { /* "close" follows and reconnects */ });
  }

  function scheduleReconnect() {
    setConnection("Reconnecting…", true);
    markLinksUnknown();
    if (retryTimer !== null) return;
    const delay = retryDelay;
    retryDelay = Math.min(retryDelay * 2, 10000);
    retryTimer = window.setTimeout(function () { retryTimer = null; connect(); }, delay);
  }

  function setConnection(text, lost) {
    const el = $("connection");
    el.textContent = text;
    el.classList.toggle("connection-lost", lost);
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function onMessage(data) {
    let message;
    try { message = JSON.parse(data); } catch (e) { return; }
    if (!message || typeof message !== "object") return;
    if (message.type === "state") renderState(message);
    else if (message.type === "form_errors") onFormErrors(message);
    else if (message.type === "accepted") onAccepted(message);
  }

  // --- state ----------------------------------------------------------------------------------

  function renderState(state) {
    lastState = state;
    renderLinks(state.links || {});
    if (state.rules) applyRules(state.rules);
    renderPrompt(state.prompt || null);
    renderRequest(state.request || null, state.queue || 0);
    renderToday(Array.isArray(state.today) ? state.today : []);
    renderNotice(state.notice || null);
    updateButtons();
  }

  function renderLinks(links) {
    ["ads", "terminal", "retailer"].forEach(function (name) {
      const value = links[name];
      const item = $("link-" + name);
      const up = value === "up" || value === "signed_on";
      item.classList.remove("link-unknown", "link-up", "link-down");
      item.classList.add(value === undefined ? "link-unknown" : (up ? "link-up" : "link-down"));
      item.dataset.state = value === undefined ? "unknown" : value;
      setText("link-" + name + "-value", (LINK_TEXT[name] && LINK_TEXT[name][value]) || "unknown");
    });
  }

  function markLinksUnknown() {
    ["ads", "terminal", "retailer"].forEach(function (name) {
      const item = $("link-" + name);
      item.classList.remove("link-up", "link-down");
      item.classList.add("link-unknown");
      item.dataset.state = "unknown";
      setText("link-" + name + "-value", "unknown");
    });
  }

  function applyRules(newRules) {
    rules = {
      required: Array.isArray(newRules.required) ? newRules.required : [],
      min_age: typeof newRules.min_age === "number" ? newRules.min_age : null
    };
    NEW_FIELDS.forEach(function (name) {
      const required = rules.required.indexOf(name) >= 0;
      const input = $(name);
      input.setAttribute("aria-required", required ? "true" : "false");
      const star = document.querySelector("#field-" + name + " .req");
      if (star) star.hidden = !required;
    });
    const hint = $("hint-date_of_birth");
    hint.textContent = "Year-month-day, for example 1990-04-27." +
      (rules.min_age !== null ? " The customer must be at least " + rules.min_age + "." : "");
  }

  function renderPrompt(prompt) {
    const root = $("terminal");
    if (!prompt || typeof prompt.code !== "string") {
      root.dataset.code = "";
      setText("prompt-text", "The terminal has shown nothing yet.");
      setText("prompt-code", "");
      show("prompt-progress", false);
      return;
    }
    const code = prompt.code;
    root.dataset.code = code;
    let text = PROMPTS[code] || ("Terminal state: " + code);
    if (code === "wrong_retailer_pin" && typeof prompt.step === "number") {
      text += " (" + prompt.step + (prompt.step === 1 ? " try" : " tries") + " left)";
    }
    setText("prompt-text", text);
    setText("prompt-code", "Terminal state: " + code);
    const writing = code === "writing";
    show("prompt-progress", writing);
    if (writing) {
      const steps = Math.max(1, Number(prompt.steps) || 1);
      const step = Math.min(steps, Math.max(0, Number(prompt.step) || 0));
      const bar = $("writing-progress");
      bar.max = steps;
      bar.value = step;
      setText("writing-step", "step " + step + " of " + steps);
    }
  }

  function renderRequest(request, queue) {
    show("request-empty", !request);
    show("request-body", !!request);
    const root = $("request");
    root.dataset.status = request ? String(request.status || "") : "";
    root.dataset.result = (request && request.outcome && request.outcome.result) || "";
    if (!request) return;
    setText("request-kind", KIND_TEXT[request.kind] || "Request");
    setText("request-label", request.label || "");
    setText("request-status", STATUS_TEXT[request.status] || String(request.status || ""));
    setText("request-queue", queue > 0 ? " (" + queue + " more waiting)" : "");

    const decision = request.decision;
    show("decision", !!decision);
    if (decision) {
      const box = $("decision");
      box.classList.toggle("decision-go", decision.go === true);
      box.classList.toggle("decision-no-go", decision.go !== true);
      setText("decision-verdict", decision.go === true ? "go" : "no-go");
      const list = $("decision-reasons");
      list.replaceChildren();
      (Array.isArray(decision.reasons) ? decision.reasons : []).forEach(function (reason) {
        const li = document.createElement("li");
        li.textContent = String(reason);
        list.appendChild(li);
      });
    }

    const outcome = request.outcome;
    const noGo = !outcome && (request.status === "no_go" || (decision && decision.go === false));
    // A no-go is its own outcome: nothing was written; say what to do under the reasons.
    show("decision-advice", noGo);
    setText("decision-advice", noGo ? ADVICE.no_go : "");
    show("outcome", !!outcome);
    if (!outcome) return;
    const result = String(outcome.result || "");
    const good = result === "personalised" || result === "modified";
    const box = $("outcome");
    box.classList.toggle("outcome-good", good);
    box.classList.toggle("outcome-bad", !good);
    box.dataset.result = result;
    setText("outcome-heading", good
      ? (result === "personalised" ? "Personalised: give the card to the customer" : "Modified: give the card back to the customer")
      : (RESULT_TEXT[result] || result));
    const msisdn = outcome.msisdn ? String(outcome.msisdn) : "";
    show("outcome-msisdn-line", good && msisdn !== "");
    setText("outcome-msisdn", msisdn);
    const iccid = outcome.iccid ? String(outcome.iccid) : "";
    show("outcome-iccid-line", iccid !== "");
    setText("outcome-iccid", iccid);
    const reason = outcome.reason ? String(outcome.reason) : "";
    show("outcome-reason-line", !good && reason !== "");
    setText("outcome-reason", reason);
    show("outcome-advice", !good && !!ADVICE[result]);
    setText("outcome-advice", ADVICE[result] || "");
    const receipt = request.receipt_id;
    show("outcome-receipt-line", !!receipt);
    if (receipt) $("outcome-receipt").href = receiptHref(receipt);
  }

  function receiptHref(id) { return "/receipt?id=" + encodeURIComponent(String(id)); }

  function formatTime(iso) {
    const t = new Date(iso);
    if (isNaN(t.getTime())) return String(iso || "");
    const hh = String(t.getHours()).padStart(2, "0");
    const mm = String(t.getMinutes()).padStart(2, "0");
    return hh + ":" + mm;
  }

  function renderToday(rows) {
    show("today-empty", rows.length === 0);
    show("today-table", rows.length > 0);
    const body = $("today-body");
    body.replaceChildren();
    rows.forEach(function (row) {
      const tr = document.createElement("tr");
      tr.dataset.id = String(row.id);

      const time = document.createElement("td");
      const timeEl = document.createElement("time");
      timeEl.dateTime = String(row.time || "");
      timeEl.textContent = formatTime(row.time);
      time.appendChild(timeEl);
      tr.appendChild(time);

      const who = document.createElement("td");
      who.appendChild(document.createTextNode(String(row.label || "")));
      if (row.iccid) {
        const ic = document.createElement("span");
        ic.className = "today-iccid mono";
        ic.textContent = "card " + row.iccid;
        who.appendChild(ic);
      }
      tr.appendChild(who);

      const result = document.createElement("td");
      result.className = "result-" + String(row.result || "");
      result.textContent = RESULT_TEXT[row.result] || String(row.result || "");
      if (row.reason) {
        const r = document.createElement("span");
        r.className = "today-iccid";
        r.textContent = String(row.reason);
        result.appendChild(r);
      }
      tr.appendChild(result);

      const msisdn = document.createElement("td");
      msisdn.className = "mono";
      msisdn.textContent = row.msisdn ? String(row.msisdn) : "—";
      tr.appendChild(msisdn);

      const receipt = document.createElement("td");
      if (row.receipt_id) {
        const a = document.createElement("a");
        a.href = receiptHref(row.receipt_id);
        a.target = "_blank";
        a.rel = "noopener";
        a.textContent = "Receipt";
        a.setAttribute("aria-label", "Receipt for " + String(row.label || row.iccid || ""));
        receipt.appendChild(a);
      } else {
        receipt.textContent = "—";
      }
      tr.appendChild(receipt);
      body.appendChild(tr);
    });
  }

  function renderNotice(notice) {
    const box = $("notice");
    if (!notice || !notice.text) {
      box.hidden = true;
      box.dataset.level = "";
      setText("notice-text", "");
      return;
    }
    const level = ["info", "warning", "error"].indexOf(notice.level) >= 0 ? notice.level : "info";
    box.classList.remove("notice-info", "notice-warning", "notice-error");
    box.classList.add("notice-" + level);
    box.dataset.level = level;
    if ($("notice-text").textContent !== String(notice.text)) setText("notice-text", String(notice.text));
    box.hidden = false;
  }

  // The shop PC answers every submit at once (accepted or form_errors); without an answer the form
  // is given back after a while rather than left disabled.
  function markSending(form) {
    sending[form] = true;
    updateButtons();
    window.setTimeout(function () {
      if (!sending[form]) return;
      sending[form] = false;
      setText(form === "new" ? "new-status" : "modify-status", "No answer from the shop PC: check the list below before sending again.");
      updateButtons();
    }, 15000);
  }

  function updateButtons() {
    const online = !!socket && socket.readyState === WebSocket.OPEN;
    $("new-submit").disabled = !online || sending["new"];
    $("modify-submit").disabled = !online || sending.modification;
    $("end-session").disabled = !online;
  }

  // --- form checks (the same rules the shop PC applies; it checks again) ----------------------

  function parseDate(text) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    if (!m) return null;
    const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
    const date = new Date(Date.UTC(y, mo - 1, d));
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
    return { y: y, m: mo, d: d };
  }

  function ageOn(birth, today) {
    let age = today.getFullYear() - birth.y;
    const month = today.getMonth() + 1;
    if (month < birth.m || (month === birth.m && today.getDate() < birth.d)) age -= 1;
    return age;
  }

  function checkNew(customer) {
    const errors = {};
    NEW_FIELDS.forEach(function (name) {
      const value = customer[name];
      if (value === "") {
        if (rules.required.indexOf(name) >= 0) errors[name] = FIELD_LABEL[name] + " is required";
        return;
      }
      if (CONTROL.test(value)) { errors[name] = "remove the control characters"; return; }
      if (MAX_LENGTH[name] && value.length > MAX_LENGTH[name]) {
        errors[name] = "at most " + MAX_LENGTH[name] + " characters";
      }
    });
    if (!errors.email && customer.email !== "") {
      const at = customer.email.indexOf("@");
      if (at <= 0 || at === customer.email.length - 1 || /\s/.test(customer.email)) {
        errors.email = "an email address has the form name@example.org";
      }
    }
    if (!errors.date_of_birth && customer.date_of_birth !== "") {
      const birth = parseDate(customer.date_of_birth);
      const now = new Date();
      if (!birth) {
        errors.date_of_birth = "use the form YYYY-MM-DD";
      } else {
        const asNumber = birth.y * 10000 + birth.m * 100 + birth.d;
        const todayNumber = now.getFullYear() * 10000 + (now.getMonth() + 1) * 100 + now.getDate();
        if (asNumber > todayNumber) errors.date_of_birth = "the date of birth is in the future";
        else if (rules.min_age !== null && ageOn(birth, now) < rules.min_age) {
          errors.date_of_birth = "the customer is under " + rules.min_age;
        }
      }
    }
    return errors;
  }

  function checkModification(iccid, spn, plmnText, newNumber) {
    const errors = {};
    const changes = {};
    if (iccid === "") errors.iccid = "ICCID is required";
    else if (!/^\d{18,20}$/.test(iccid)) errors.iccid = "an ICCID is 18 to 20 digits";
    if (spn !== "") {
      if (CONTROL.test(spn)) errors.spn = "remove the control characters";
      else if (spn.length > 16) errors.spn = "at most 16 characters";
      else changes.spn = spn;
    }
    if (plmnText !== "") {
      const entries = plmnText.split(",").map(function (s) { return s.trim(); }).filter(function (s) { return s !== ""; });
      const bad = entries.filter(function (e) { return !/^\d{3}\/?\d{2,3}$/.test(e); });
      if (entries.length === 0 || bad.length > 0) {
        errors.plmnsel = "each entry is MCC/MNC: 3 digits, a slash, 2 or 3 digits (for example 001/01)" +
          (bad.length > 0 ? "; not valid: " + bad.join(", ") : "");
      } else {
        changes.plmnsel = entries;
      }
    }
    if (newNumber) changes.msisdn = "new";
    if (Object.keys(errors).length === 0 && Object.keys(changes).length === 0) {
      errors._form = "Choose at least one change: an SPN, a PLMN list or a new number.";
    }
    return { errors: errors, changes: changes };
  }

  // --- showing errors -------------------------------------------------------------------------

  function clearErrors(form, fields) {
    fields.forEach(function (name) {
      const input = $(name === "msisdn" ? "msisdn-new" : name);
      const err = $("err-" + name);
      if (input) input.removeAttribute("aria-invalid");
      if (err) { err.textContent = ""; err.hidden = true; }
    });
    const formErr = $("err-" + form + "-_form");
    formErr.textContent = "";
    formErr.hidden = true;
  }

  // Shows each error beside its field, and focuses the first field in error.
  function showErrors(form, fields, errors) {
    let first = null;
    Object.keys(errors).forEach(function (name) {
      const message = String(errors[name]);
      const inputId = name === "msisdn" ? "msisdn-new" : name;
      if (fields.indexOf(name) >= 0 && $(inputId)) {
        $(inputId).setAttribute("aria-invalid", "true");
        const err = $("err-" + name);
        err.textContent = message;
        err.hidden = false;
        if (!first || fields.indexOf(name) < fields.indexOf(first)) first = name;
      } else {
        const formErr = $("err-" + form + "-_form");
        const label = name === "_form" ? "" : (FIELD_LABEL[name] || name) + ": ";
        formErr.textContent = (formErr.textContent ? formErr.textContent + " " : "") + label + message;
        formErr.hidden = false;
      }
    });
    if (first) $(first === "msisdn" ? "msisdn-new" : first).focus();
  }

  function onFormErrors(message) {
    const form = message.form === "modification" ? "modification" : (message.form === "new" ? "new" : "");
    const errors = message.errors && typeof message.errors === "object" ? message.errors : {};
    if (form === "") {
      // Not tied to a form (e.g. an unknown message): show it on both.
      ["new", "modification"].forEach(function (f) {
        sending[f] = false;
        setText(f === "new" ? "new-status" : "modify-status", "");
      });
      showErrors("new", NEW_FIELDS, { _form: errors._form || "the shop PC did not understand the request" });
      updateButtons();
      return;
    }
    sending[form] = false;
    const fields = form === "new" ? NEW_FIELDS : MOD_FIELDS;
    clearErrors(form, fields);
    showErrors(form, fields, errors);
    setText(form === "new" ? "new-status" : "modify-status", "Not sent: correct the fields marked above.");
    updateButtons();
  }

  function onAccepted(message) {
    const form = message.form === "modification" ? "modification" : "new";
    sending[form] = false;
    if (form === "new") {
      $("new-form").reset();
      clearErrors("new", NEW_FIELDS);
      setText("new-status", "Sent (request " + message.id + "). Follow the terminal.");
    } else {
      $("modify-form").reset();
      clearErrors("modification", MOD_FIELDS);
      setText("modify-status", "Sent (request " + message.id + "). Follow the terminal.");
    }
    updateButtons();
  }

  // --- wiring ---------------------------------------------------------------------------------

  function onSubmitNew(event) {
    event.preventDefault();
    const customer = {};
    NEW_FIELDS.forEach(function (name) { customer[name] = $(name).value.trim(); });
    clearErrors("new", NEW_FIELDS);
    const errors = checkNew(customer);
    if (Object.keys(errors).length > 0) {
      showErrors("new", NEW_FIELDS, errors);
      setText("new-status", "Not sent: correct the fields marked above.");
      return;
    }
    const payload = {};
    NEW_FIELDS.forEach(function (name) { if (customer[name] !== "") payload[name] = customer[name]; });
    if (!send({ type: "submit_new", customer: payload })) {
      setText("new-status", "Not sent: the page is not connected to the shop PC. Try again in a moment.");
      return;
    }
    setText("new-status", "Sending…");
    markSending("new");
  }

  function onSubmitModification(event) {
    event.preventDefault();
    const iccid = $("iccid").value.replace(/\s+/g, "");
    const spn = $("spn").value.trim();
    const plmn = $("plmnsel").value.trim();
    const newNumber = $("msisdn-new").checked;
    clearErrors("modification", MOD_FIELDS);
    const checked = checkModification(iccid, spn, plmn, newNumber);
    if (Object.keys(checked.errors).length > 0) {
      showErrors("modification", MOD_FIELDS, checked.errors);
      setText("modify-status", "Not sent: correct the fields marked above.");
      return;
    }
    if (!send({ type: "submit_modification", iccid: iccid, changes: checked.changes })) {
      setText("modify-status", "Not sent: the page is not connected to the shop PC. Try again in a moment.");
      return;
    }
    setText("modify-status", "Sending…");
    markSending("modification");
  }

  function onEndSession() {
    if (send({ type: "end_session" })) {
      setText("connection", "End of session requested: the terminal is told once no card is in progress.");
    }
  }

  function init() {
    $("new-form").addEventListener("submit", onSubmitNew);
    $("modify-form").addEventListener("submit", onSubmitModification);
    $("end-session").addEventListener("click", onEndSession);
    updateButtons();
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  // For tests and debugging only: the last state received (no secrets ever reach the page).
  window.cardpersoConsole = { lastState: function () { return lastState; } };
}());
