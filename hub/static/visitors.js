// The visitor page: register a visitor and hand over the pass, confirm an expected visitor,
// see who is inside and check them out. Everything goes through the visitors API with the
// session cookie; nothing is built from HTML strings (names typed by people never become
// markup). Every word comes through gh.t, every time through gh.instant (the estate's
// timezone); ID numbers and phones are shown only as the API masks them.
// A refused registration is said inside the form, on the field the hub named (as clerk.js).
"use strict";

const $ = (id) => document.getElementById(id);
const desk = $("visitor-desk");
const canOverride = desk.dataset.canOverride === "yes";
const canRegisterAhead = desk.dataset.ahead === "yes";  // the desk: no ID needed until arrival
const atGate = desk.dataset.atGate === "yes";  // arrivals and departures are the gate's (guard, supervisor)


// -- talking to the hub, what the page says, its forms, the estate's clock: hub/static/forms.js ------

const { api, listOf, say, fact, Refusal, estateParts, estateInstant } = gh;

// the field a refusal is about when the hub names none: by its rule (hub.visitors)
const RULE_FIELD = {
  unknown_unit: "host_unit", unit_not_handed_over: "host_unit", unknown_host_unit: "host_unit",
  leave_in_past: "expected_leave_at", watch_list_hit: "override_reason", override_reason_required: "override_reason",
};

const { clearErrors, formError, move } = gh.forms({ ruleField: RULE_FIELD, fields: "input[data-field], select[data-field]" });

const iso = (at) => at.toISOString();

// the expected leaving time of the form's choice, or a Refusal on the time box
function leaveAt() {
  const choice = (document.querySelector("input[name=leave]:checked") || {}).value || "2h";
  const now = new Date();
  const hours = { "1h": 1, "2h": 2, "4h": 4 }[choice];
  if (hours) return iso(new Date(now.getTime() + hours * 3600 * 1000));
  const today = estateParts(now);
  if (choice === "tonight") return iso(estateInstant(today.year, today.month, today.day, 23, 59));
  const box = $("v-leave-at");
  const m = /^(\d{1,2})[:：.]?(\d{2})$/.exec(box.value.trim());
  if (!m || +m[1] > 23 || +m[2] > 59) throw new Refusal(gh.t("Type a time as hours:minutes, such as 18:30."), box);
  let at = estateInstant(today.year, today.month, today.day, +m[1], +m[2]);
  if (at <= now) {  // a time already past today is tomorrow's
    const next = estateParts(new Date(at.getTime() + 24 * 3600 * 1000));
    at = estateInstant(next.year, next.month, next.day, +m[1], +m[2]);
  }
  return iso(at);
}

function showLeaveBox() {
  const at = $("leave-at").checked;
  $("leave-at-box").hidden = !at;
  $("v-leave-at").required = at;
}
for (const r of document.querySelectorAll("input[name=leave]")) r.addEventListener("change", showLeaveBox);

// a pass's times come as ISO text or epoch seconds
function when(value) {
  if (value === null || value === undefined || value === "") return "";
  return gh.instant(typeof value === "number" ? new Date(value * 1000).toISOString() : value, false);
}

// -- the host unit, checked as it is typed -----------------------------------------------------

let unitAsked = 0;
async function checkUnit() {
  const box = $("v-unit");
  const text = box.value.trim().toUpperCase();
  const line = $("v-unit-check");
  const ask = ++unitAsked;
  if (!text) { line.textContent = ""; line.className = "hint check-line"; return; }
  let found;
  try {
    found = await api("GET", `/visitors/units?q=${encodeURIComponent(text)}`);
  } catch (_) { return; }  // the hub decides on registering anyway
  if (ask !== unitAsked) return;  // a newer keystroke has asked since
  const list = $("unit-list");
  list.replaceChildren(...found.units.map((code) => Object.assign(document.createElement("option"), { value: code })));
  if (found.known) {
    line.textContent = gh.t("Unit {code} is in the register.", { code: found.q });
    line.className = "hint check-line ok";
  } else if (found.units.length) {
    line.textContent = gh.t("Keep typing: {count} units begin with this.", { count: found.units.length });
    line.className = "hint check-line";
  } else {
    line.textContent = gh.t("No unit {code} in the register.", { code: found.q });
    line.className = "hint check-line bad";
  }
}
$("v-unit").addEventListener("input", checkUnit);
$("v-unit").addEventListener("change", () => { $("v-unit").value = $("v-unit").value.trim().toUpperCase(); checkUnit(); });

// -- registering ---------------------------------------------------------------------------------

const form = $("register-form");
let openedAt = null;  // the moment this visitor's form was begun: the first thing typed into it
let entriesTouched = false;
form.addEventListener("input", (e) => {
  if (!openedAt) openedAt = new Date().toISOString();
  if (e.target.id === "v-entries") entriesTouched = true;
  if (e.target.id === "v-party" && !entriesTouched && Number(e.target.value) >= 1) $("v-entries").value = e.target.value;
});

function numberIn(input) {
  const n = Number(input.value);
  if (!Number.isInteger(n) || n < Number(input.min || 1) || n > Number(input.max || 100)) {
    throw new Refusal(gh.t("Type a whole number from {min} to {max}.", { min: input.min, max: input.max }), input);
  }
  return n;
}

function showOverride(on) {
  $("override").hidden = !on;
  $("v-override").required = on;
  if (!on) $("v-override").value = "";
}

const passKind = () => (document.querySelector("input[name=pass-kind]:checked") || {}).value || "qr";
const later = () => $("v-later").checked;

// what the form asks for depends on its choices: a card's fields, the ID at the gate
function showChoices() {
  const card = passKind() === "card" && !later();
  $("card-box").hidden = !card;
  for (const id of ["v-card-uid", "v-deposit", "v-receipt"]) $(id).required = card;
  $("pass-kind-box").hidden = later();
  $("v-id-number").required = !later() || !canRegisterAhead;
}
for (const el of document.querySelectorAll("input[name=pass-kind], #v-later")) el.addEventListener("change", showChoices);

function registration() {
  const text = (id) => $(id).value.trim();
  const body = {
    visitor_name: text("v-name"),
    id_type: $("v-id-type").value,
    id_number: text("v-id-number").replace(/[\s-]/g, "").toUpperCase() || null,
    phone: text("v-phone") || null,
    host_unit: text("v-unit").toUpperCase(),
    purpose: text("v-purpose"),
    party_size: numberIn($("v-party")),
    plate: text("v-plate").toUpperCase().replace(/\s+/g, "") || null,
    expected_leave_at: leaveAt(),
    form_opened_at: openedAt || new Date().toISOString(),
  };
  if (!$("override").hidden && text("v-override")) body.override_reason = text("v-override");
  return body;
}

// the pass a visit is given: QR (its end the visitor's expected leaving) or a temporary card
function passRequest(leaving) {
  const req = { kind: passKind() };
  if (leaving && new Date(leaving) > new Date()) req.valid_until = leaving;
  if (req.kind === "card") {
    const fen = gh.fen($("v-deposit").value);
    if (Number.isNaN(fen) || fen <= 0) throw new Refusal(gh.t("Type an amount in yuan, such as 12.50."), $("v-deposit"));
    req.uid = $("v-card-uid").value.replace(/[\s:\-_.]/g, "").toUpperCase();
    req.deposit = { amount_cents: fen, receipt_no: $("v-receipt").value.trim() };
  } else {
    req.entries = numberIn($("v-entries"));
  }
  return req;
}

// a visit registered whose pass was refused (a card not in stock...): the next submit asks
// only for its pass, so the visitor is never registered twice
let registered = null;

move(form, async () => {
  const body = registration();
  const wantPass = !later() ? passRequest(body.expected_leave_at) : null;
  let visit = registered;
  if (!visit) {
    try {
      visit = await api("POST", "/api/v1/visits", body);
    } catch (err) {
      if (err.rule === "watch_list_hit") {
        if (canOverride) {
          showOverride(true);
        } else {
          err.message += " " + gh.t("Only a supervisor can let this visitor in: call the supervisor.");
        }
      }
      throw err;
    }
  }
  if (!wantPass) {
    resetForm();
    say(gh.t("{name} is expected at {unit}.", { name: visit.visitor_name, unit: visit.host_unit }));
    await loadExpected();
    return;
  }
  registered = visit;
  let made;
  try {
    made = await api("POST", `/api/v1/visits/${encodeURIComponent(visit.visit_id)}/passes`, wantPass);
  } catch (err) {
    err.message = gh.t("{name} is registered, but the pass was refused: {why}", { name: visit.visitor_name, why: err.message });
    throw err;
  }
  visit.passes = [...(visit.passes || []), made];
  resetForm();
  showPass(visit);
  say(gh.t("{name} registered for {unit}.", { name: visit.visitor_name, unit: visit.host_unit }));
  loadExpected().catch(() => {});  // there until the gate's scan checks them in
});

function resetForm() {
  form.reset();
  clearErrors(form);
  showOverride(false);
  showLeaveBox();
  showChoices();
  $("v-unit-check").textContent = "";
  openedAt = null;
  entriesTouched = false;
  registered = null;
}

// -- the pass ------------------------------------------------------------------------------------

function currentPass(visit) {
  const passes = visit.passes || [];
  return passes.filter((p) => p.state === "active" || !p.state).pop() || passes[passes.length - 1] || null;
}

function showPass(visit) {
  const p = currentPass(visit);
  const panel = $("pass-panel");
  const box = $("pass");
  $("pass-name").textContent = visit.visitor_name || "";
  $("pass-unit").textContent = visit.host_unit || "";
  $("pass-id-masked").textContent = visit.id_masked || "";
  $("pass-from").textContent = p ? when(p.valid_from) : "";
  $("pass-until").textContent = p ? when(p.valid_until) : "";
  $("pass-entries").textContent = p ? String(p.entries) : "";
  box.dataset.visitId = visit.visit_id;
  box.dataset.passId = p ? p.pass_id : "";
  box.dataset.passText = p && p.text ? p.text : "";
  box.dataset.kind = p ? p.kind : "";
  const img = $("pass-qr");
  if (p && p.kind === "qr") {
    img.hidden = false;
    img.src = `/api/v1/passes/${encodeURIComponent(p.pass_id)}/qr.svg`;
  } else {
    img.hidden = true;
    img.removeAttribute("src");
  }
  $("pass-copy").hidden = !(p && p.text);
  const card = !!(p && p.kind === "card");
  for (const el of document.querySelectorAll(".card-only")) el.hidden = !card;
  for (const el of document.querySelectorAll(".qr-only")) el.hidden = card;
  $("pass-card").textContent = card ? p.uid : "";
  panel.hidden = false;
  $("pass-h").focus();
  panel.scrollIntoView({ block: "start" });
}

$("pass-print").addEventListener("click", () => window.print());
$("pass-copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("pass").dataset.passText);
    say(gh.t("Pass text copied."));
  } catch (_) {
    say(gh.t("This browser would not copy the text."), false);
  }
});
$("pass-new").addEventListener("click", () => {
  $("pass-panel").hidden = true;
  $("v-name").focus();
});

// -- the lists -----------------------------------------------------------------------------------

function action(label, cls, run) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = label;
  b.addEventListener("click", async () => {
    if (b.disabled) return;
    b.disabled = true;
    try { await run(); } catch (err) { say(err.message, false); b.disabled = false; }
  });
  return b;
}

// overstaying: past the expected leaving time (the hub raises its alarm after a grace)
function overstaying(visit, now) {
  return visit.overstay === true
    || (visit.state === "inside" && !!visit.expected_leave_at && new Date(visit.expected_leave_at) < now);
}

function visitItem(visit, now) {
  const li = document.createElement("li");
  li.dataset.visitId = visit.visit_id;
  li.dataset.state = visit.state;
  const head = document.createElement("p");
  head.className = "who";
  fact(head, "name", visit.visitor_name);
  fact(head, "unit", visit.host_unit);
  if (overstaying(visit, now)) {
    li.classList.add("overstay");
    fact(head, "flag", gh.t("overstaying"));
  }
  const more = document.createElement("p");
  more.className = "more";
  fact(more, "plate", visit.plate);
  fact(more, "party", visit.party_size > 1 ? gh.t("{count} people", { count: visit.party_size }) : "");
  fact(more, "id", visit.id_masked);
  fact(more, "phone", visit.phone_masked);
  fact(more, "purpose", visit.purpose);
  const times = document.createElement("p");
  times.className = "times";
  if (visit.checked_in_at) fact(times, "in", gh.t("in {time}", { time: when(visit.checked_in_at) }));
  if (visit.expected_leave_at) fact(times, "until", gh.t("leaving by {time}", { time: when(visit.expected_leave_at) }));
  const buttons = document.createElement("p");
  buttons.className = "buttons";
  li.append(head, more, times, buttons);
  return { li, buttons };
}

function fill(listId, noneId, items) {
  $(listId).replaceChildren(...items);
  $(noneId).hidden = items.length > 0;
}

// a confirmation form in an expected visit's card: the ID when the desk registered the visit
// without it, and a supervisor's reason when the ID matches the watch list
let arriveForms = 0;
function arriveForm(visit) {
  const n = ++arriveForms;
  const f = document.createElement("form");
  f.className = "arrive-form";
  f.noValidate = true;
  const box = (label, input) => {
    input.id = `arrive-${n}-${input.dataset.field}`;
    const l = document.createElement("label");
    l.htmlFor = input.id;
    l.textContent = label;
    const div = document.createElement("div");
    div.append(l, input);
    return div;
  };
  const pair = document.createElement("div");
  pair.className = "pair";
  if (!visit.id_masked) {
    const type = $("v-id-type").cloneNode(true);
    type.removeAttribute("id");
    type.value = visit.id_type || type.value;
    const number = Object.assign(document.createElement("input"), { required: true, maxLength: 40,
      autocomplete: "off", spellcheck: false });
    number.dataset.field = "id_number";
    pair.append(box(gh.t("ID type"), type), box(gh.t("ID number"), number));
  }
  const reason = Object.assign(document.createElement("input"), { maxLength: 500 });
  reason.dataset.field = "override_reason";
  const reasonBox = box(gh.t("Reason for letting them in"), reason);
  reasonBox.hidden = true;
  pair.append(reasonBox);
  const submit = Object.assign(document.createElement("button"), { type: "submit", className: "arrive",
    textContent: gh.t("Confirm arrival") });
  const error = Object.assign(document.createElement("p"), { className: "form-error", id: `arrive-${n}-error` });
  error.setAttribute("aria-live", "assertive");
  f.append(pair, submit, error);
  move(f, async () => {
    const body = {};
    const type = f.querySelector("select[data-field=id_type]");
    const number = f.querySelector("input[data-field=id_number]");
    if (number) Object.assign(body, { id_type: type.value, id_number: number.value.replace(/[\s-]/g, "").toUpperCase() });
    if (!reasonBox.hidden && reason.value.trim()) body.override_reason = reason.value.trim();
    const path = `/api/v1/visits/${encodeURIComponent(visit.visit_id)}`;
    let arrived;
    try {
      arrived = await api("POST", `${path}/arrive`, body);
    } catch (err) {
      if (err.rule === "watch_list_hit") {
        if (canOverride) { reasonBox.hidden = false; reason.required = true; }
        else err.message += " " + gh.t("Only a supervisor can let this visitor in: call the supervisor.");
      }
      throw err;
    }
    await issueQr(arrived);
    say(gh.t("{name} has arrived: pass issued.", { name: arrived.visitor_name }));
    await Promise.all([loadExpected(), loadInside()]);
  });
  return f;
}

// a QR pass for a visit that has none active (its end: the expected leaving, if still ahead)
async function issueQr(visit) {
  const req = { kind: "qr" };
  if (visit.expected_leave_at && new Date(visit.expected_leave_at) > new Date()) req.valid_until = visit.expected_leave_at;
  const made = await api("POST", `/api/v1/visits/${encodeURIComponent(visit.visit_id)}/passes`, req);
  visit.passes = [...(visit.passes || []), made];
  showPass(visit);
}

let expectedAsked = 0;
async function loadExpected(q) {
  const query = q === undefined ? $("expected-q").value.trim() : q;
  const ask = ++expectedAsked;
  const found = listOf(await api("GET", `/api/v1/visits?state=expected&limit=50&q=${encodeURIComponent(query)}`));
  if (ask !== expectedAsked) return;  // a newer search has been asked for since: its answer is drawn
  $("expected-list").dataset.drawn = query;
  const now = new Date();
  fill("expected-list", "expected-none", found.map((visit) => {
    const { li, buttons } = visitItem(visit, now);
    const active = (visit.passes || []).filter((p) => p.state === "active");
    if (active.length) {  // registered at the gate, pass in hand: it checks in at the gate's scan
      fact(buttons, "has-pass", gh.t("pass issued"));
    } else if (atGate) {
      buttons.replaceWith(arriveForm(visit));
    }
    return li;
  }));
}

move($("expected-form"), async () => {
  await loadExpected();
  const n = $("expected-list").children.length;
  say(n ? gh.t("{count} found.", { count: n }) : gh.t("No expected visitor found."), n > 0);
});

let insideAsked = 0;
async function loadInside() {
  const ask = ++insideAsked;
  try {
    const found = listOf(await api("GET", "/api/v1/visits?state=inside&limit=200"));
    if (ask !== insideAsked) return;  // a newer reading is on its way
    $("inside-error").textContent = "";
    const now = new Date();
    fill("inside-list", "inside-none", found.map((visit) => {
      const { li, buttons } = visitItem(visit, now);
      if (atGate) {
        buttons.append(action(gh.t("Check out"), "leave", async () => {
          await api("POST", `/api/v1/visits/${encodeURIComponent(visit.visit_id)}/leave`, {});
          say(gh.t("{name} checked out.", { name: visit.visitor_name }));
          await loadInside();
        }));
      }
      const active = (visit.passes || []).filter((x) => x.state === "active");
      if (!active.length) {
        buttons.append(action(gh.t("Issue QR pass"), "issue", async () => {
          await issueQr(visit);
          await loadInside();
        }));
      }
      for (const p of active) {
        buttons.append(action(gh.t("Revoke pass"), "revoke", async () => {
          await api("POST", `/api/v1/passes/${encodeURIComponent(p.pass_id)}/revoke`, {});
          say(gh.t("The pass of {name} is revoked.", { name: visit.visitor_name }));
          await loadInside();
        }));
      }
      return li;
    }));
  } catch (err) {
    $("inside-error").textContent = err.message;
  } finally {
    $("inside-list").dataset.drawn = "yes";  // (tests wait for the first drawing)
  }
}
$("inside-refresh").addEventListener("click", loadInside);

showLeaveBox();
showChoices();
loadExpected("").catch((err) => { $("expected-error").textContent = err.message; });
loadInside();
setInterval(loadInside, 30000);  // overstays appear as the clock passes them
window.visitors = { leaveAt, estateInstant };
