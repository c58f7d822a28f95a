// The renovation pages: the permit desk, engineering's approvals, violations, release slips,
// the guard's slip check and the month's figures (#reno's data-view says which). Everything
// goes through the permits, violations and slips APIs with the session cookie; nothing is
// built from HTML strings (what people type never becomes markup). Every word comes through
// gh.t, every time through gh.instant (the estate's timezone), money through gh.yuan. A
// refused move is said inside its form, on the field the hub named, and changes nothing.
"use strict";

const $ = (id) => document.getElementById(id);
const reno = $("reno");
const view = reno.dataset.view;
const mayManage = reno.dataset.mayManage === "yes";

// -- talking to the hub, what the page says, its forms, the estate's clock: hub/static/forms.js ------

const { api, listOf, say, fact, visible, Refusal, estateParts, estateInstant } = gh;
const enc = encodeURIComponent;

// the field a refusal is about when the hub names none, by its rule
const RULE_FIELD = {
  // permits (hub/permits/API.md)
  unknown_unit: "unit", unit_not_handed_over: "unit", permit_open_for_unit: "unit",
  drawings_not_approved: "drawings.approved_by", applicant_not_owner: "applicant.name",
  agent_authorisation_required: "applicant.authorisation_ref", company_letter_required: "applicant.company_letter_ref",
  standing_not_for_unit: "applicant.standing", period_reversed: "period_until", period_in_past: "period_from",
  hours_reversed: "hours.end", deposit_required: "deposit.amount_cents", deposit_receipt_required: "deposit.receipt_no",
  permit_document_required: "document_no", permit_document_lost: "document_no", extension_not_later: "period_until",
  reason_required: "reason", engineering_approval_required: "engineering_approval.by",
  loss_declaration_required: "loss_declaration_ref", inspection_required: "inspection", refund_date_required: "refund_on",
  deduction_reason_required: "deduction_reason", deductions_over_deposit: "deductions_cents",
  // release slips (hub/slips/API.md)
  unknown_gate: "gates", gates_required: "gates", items_required: "items", date_in_past: "date",
  owner_confirmation_required: "owner_confirmation.name", override_not_allowed: "override_reason",
  unknown_slip: "text", slip_qr_invalid: "text", gate_not_allowed: "gate_id",
  // violations (hub/violations/API.md)
  unknown_kind: "kind", unknown_permit: "permit", found_in_future: "found_at", deadline_required: "deadline",
  measure_out_of_order: "measure", penalty_already_set: "amount_cents", manager_only: "amount_cents",
};

// a field named "items.name" may be on a box of its last part, or of a field inside its first
const { fieldFor, move } = gh.forms({
  ruleField: RULE_FIELD, fields: "input[data-field], select[data-field], textarea[data-field]", loose: true,
});

// -- small builders (text only, never markup) ---------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of children) if (c !== null && c !== undefined && c !== "") node.append(c);
  return node;
}

function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [name, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(el("dt", { textContent: name }), el("dd", { textContent: String(value) }));
  }
}

function action(label, cls, run) {
  const b = el("button", { type: "button", className: cls, textContent: label });
  b.addEventListener("click", async () => {
    if (b.disabled) return;
    b.disabled = true;
    try { await run(); } catch (err) { say(err.message, false); } finally { b.disabled = false; }
  });
  return b;
}

let boxes = 0;
// a labelled input for forms made in the page: {label, field, type, required, options, value}
function box(spec) {
  const id = `f${++boxes}`;
  let input;
  if (spec.options) {
    input = el("select", { id });
    for (const [value, name] of spec.options) input.append(el("option", { value, textContent: name }));
  } else if (spec.type === "textarea") {
    input = el("textarea", { id, rows: 2, maxLength: spec.max || 2000 });
  } else if (spec.type === "checkbox") {
    input = el("input", { id, type: "checkbox" });
    input.dataset.field = spec.field;
    return el("div", { className: "check" }, input, el("label", { htmlFor: id, textContent: spec.label }));
  } else {
    input = el("input", { id, type: spec.type || "text", maxLength: spec.max || 500, autocomplete: "off" });
    if (spec.inputmode) input.inputMode = spec.inputmode;
  }
  if (spec.value !== undefined) input.value = spec.value;
  input.required = !!spec.required;
  input.dataset.field = spec.field;
  return el("div", {}, el("label", { htmlFor: id, textContent: spec.label }), input);
}

// a form made in the page: its boxes, a submit button, its error line; ``run(values, form)``
function inlineForm(specs, submitLabel, run, cls = "inline") {
  const f = el("form", { className: cls, noValidate: true });
  f.setAttribute("autocomplete", "off");
  const pair = el("div", { className: "pair" });
  for (const spec of specs) pair.append(box(spec));
  const error = el("p", { className: "form-error", id: `f${++boxes}-error` });
  error.setAttribute("aria-live", "assertive");
  f.append(pair, el("button", { type: "submit", textContent: submitLabel }), error);
  move(f, async () => run(values(f), f));
  return f;
}

// the form's values by data-field (the first name of each), typed by their box
function values(form) {
  const out = {};
  for (const input of form.querySelectorAll("[data-field]")) {
    if (!visible(input) || !("value" in input)) continue;
    const name = input.dataset.field.split(" ")[0];
    out[name] = input.type === "checkbox" ? input.checked : String(input.value).trim();
  }
  return out;
}

// money typed in yuan, as integer fen (a Refusal on the box if it is not money)
function fenOf(form, field, { optional = false } = {}) {
  const input = fieldFor(form, field);
  const text = input ? input.value.trim() : "";
  if (!text && optional) return null;
  const fen = gh.fen(text);
  if (Number.isNaN(fen)) throw new Refusal(gh.t("Type an amount in yuan, such as 12.50."), input);
  return fen;
}

// -- times: the estate's wall clock, whatever the browser's ------------------------------------

const pad = (n) => String(n).padStart(2, "0");
function estateDay(at = new Date(), plusDays = 0) {
  const p = estateParts(new Date(at.getTime() + plusDays * 86400000));
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}
// "2026-11-29" (a date box) to the instant that day begins in the estate
function dayStart(day) {
  const [y, m, d] = day.split("-").map(Number);
  return estateInstant(y, m, d, 0, 0).toISOString();
}
const when = (iso) => gh.instant(iso, false);

// -- the unit, checked as it is typed ------------------------------------------------------------

function unitCheck(input, onKnown) {
  let asked = 0;
  const line = $(input.dataset.check);
  const list = $(input.dataset.list);
  async function check() {
    const text = input.value.trim().toUpperCase();
    const ask = ++asked;
    if (!text) { line.textContent = ""; line.className = "hint check-line"; if (onKnown) onKnown(null); return; }
    let found;
    try { found = await api("GET", `/permits/units?q=${enc(text)}`); } catch (_) { return; }
    if (ask !== asked) return;  // a newer keystroke has asked since
    if (list) list.replaceChildren(...found.units.map((code) => el("option", { value: code })));
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
    if (onKnown) onKnown(found.known ? found.q : null, found);
  }
  input.addEventListener("input", check);
  input.addEventListener("change", () => { input.value = input.value.trim().toUpperCase(); check(); });
  return check;
}

// the desk's target: each task done within 15 minutes of its form being begun (ESTATE.md
// "Renovation"); the time since the first thing was typed is shown beside the button
const TARGET_MINUTES = 15;
function timed(form) {
  const line = el("p", { className: "hint timer" });
  line.setAttribute("aria-live", "off");
  form.querySelector("button[type=submit]").after(line);
  let begun = null;
  const show = () => {
    if (!begun) { line.textContent = ""; return; }
    const minutes = Math.floor((Date.now() - begun) / 60000);
    line.textContent = gh.t("Begun {minutes} min ago (target: {target} min)", { minutes, target: TARGET_MINUTES });
    line.classList.toggle("late", minutes >= TARGET_MINUTES);
  };
  form.addEventListener("input", () => { if (!begun) { begun = Date.now(); show(); } });
  setInterval(show, 30000);
  return { reset() { begun = null; show(); }, seconds: () => (begun ? Math.round((Date.now() - begun) / 1000) : 0) };
}

const views = {};

// -- release slips ---------------------------------------------------------------------------------

const STANDINGS = { owner: gh.t("owner"), tenant: gh.t("tenant"), agent: gh.t("owner's agent"),
  company: gh.t("company (with its letter)") };
const SLIP_KINDS = { goods: gh.t("goods leaving"), move_out: gh.t("moving out") };
const SLIP_STATES = { issued: gh.t("issued"), used: gh.t("used"), cancelled: gh.t("cancelled"), expired: gh.t("expired") };
const named = (names, code) => (Object.prototype.hasOwnProperty.call(names, code) ? names[code] : String(code || ""));

function feeText(fees) {
  if (!fees) return gh.t("No fee position on record for this unit.");
  const owes = Number(fees.owed_cents) > 0;
  const age = gh.t("as of {date}, imported {days} days ago", { date: fees.as_of, days: fees.age_days });
  return owes ? gh.t("Owes {amount} ({age})", { amount: gh.yuan(fees.owed_cents), age })
    : gh.t("No fees owed ({age})", { age });
}

function gatesList() {
  // the gates a slip may name: offered as the desk types (the API decides)
  api("GET", "/api/v1/gates").then((gates) => {
    const list = $("gate-list");
    if (list) list.replaceChildren(...listOf(gates).map((g) => el("option", { value: g.gate_id })));
  }).catch(() => {});
}

function itemRow(name = "", quantity = "1") {
  const n = ++boxes;
  const row = el("div", { className: "pair item" });
  const nameBox = el("input", { id: `item-${n}-name`, maxLength: 100, value: name });
  nameBox.dataset.field = "items.name";
  const qty = el("input", { id: `item-${n}-qty`, type: "number", min: 1, max: 999, step: 1, value: quantity });
  qty.dataset.field = "items.quantity";
  row.append(el("div", {}, el("label", { htmlFor: nameBox.id, textContent: gh.t("Item") }), nameBox),
             el("div", {}, el("label", { htmlFor: qty.id, textContent: gh.t("Quantity") }), qty));
  return row;
}

function slipFacts(slip) {
  return [
    [gh.t("Slip number"), slip.number], [gh.t("Kind"), named(SLIP_KINDS, slip.kind)], [gh.t("Unit"), slip.unit],
    [gh.t("Applicant"), slip.applicant ? `${slip.applicant} (${named(STANDINGS, slip.standing)})` : ""],
    [gh.t("Date"), slip.date], [gh.t("Gates"), (slip.gates || []).join(", ")], [gh.t("Vehicle"), slip.vehicle],
    [gh.t("Items"), (slip.items || []).map((i) => `${i.name} × ${i.quantity}`).join("; ")],
    [gh.t("Fees"), slip.kind === "move_out" ? feeText(slip.fees) : ""],
    [gh.t("Manager's override"), slip.override ? `${slip.override.reason} (${slip.override.by})` : ""],
    [gh.t("State"), named(SLIP_STATES, slip.state)],
    [gh.t("Used"), slip.used_at ? `${when(slip.used_at)} ${slip.used_gate || ""}` : ""],
  ];
}

views.slips = function () {
  const form = $("slip-form");
  const clock = timed(form);
  const kind = () => (document.querySelector("input[name=slip-kind]:checked") || {}).value || "goods";
  $("s-date").value = estateDay();
  $("items").append(itemRow());
  $("item-add").addEventListener("click", () => {
    const row = itemRow();
    $("items").append(row);
    row.querySelector("input").focus();
  });
  let fees = null;
  async function showFees(unit) {
    fees = null;
    const line = $("s-fees");
    line.className = "fee";
    if (!unit || kind() !== "move_out") { $("fees-box").hidden = true; return; }
    $("fees-box").hidden = false;
    try {
      fees = await api("GET", `/api/v1/slips/fees/${enc(unit)}`);
    } catch (err) {
      if (err.status !== 404) { line.textContent = err.message; return; }
    }
    line.textContent = feeText(fees);
    line.className = fees && Number(fees.owed_cents) > 0 ? "fee owed" : fees ? "fee clear" : "fee owed";
  }
  const check = unitCheck($("s-unit"), showFees);
  function showChoices() {
    const out = kind() === "move_out";
    $("owner-box").hidden = !(out && $("s-standing").value !== "owner");
    $("s-owner-name").required = !$("owner-box").hidden;
    $("items-box").querySelector("legend").textContent = out ? gh.t("Large items (if any)") : gh.t("Items (each item and its quantity)");
    check();
  }
  for (const r of document.querySelectorAll("input[name=slip-kind], #s-standing")) r.addEventListener("change", showChoices);
  gatesList();

  function showOverride(on) {
    $("override-box").hidden = !on;
    $("s-override").required = on;
    if (!on) $("s-override").value = "";
  }

  move(form, async () => {
    const out = kind() === "move_out";
    const items = [];
    for (const row of $("items").querySelectorAll(".item")) {
      const [nameBox, qty] = row.querySelectorAll("input");
      if (!nameBox.value.trim()) continue;
      const q = Number(qty.value);
      if (!Number.isInteger(q) || q < 1 || q > 999) throw new Refusal(gh.t("Type a whole number from {min} to {max}.", { min: 1, max: 999 }), qty);
      items.push({ name: nameBox.value.trim(), quantity: q });
    }
    if (!out && !items.length) throw new Refusal(gh.t("List each item leaving, with its quantity."), $("items").querySelector("input"));
    const gates = $("s-gates").value.split(/[,，\s]+/).map((g) => g.trim()).filter(Boolean);
    const body = {
      kind: kind(), unit: $("s-unit").value.trim().toUpperCase(), applicant: $("s-applicant").value.trim(),
      standing: $("s-standing").value, items, vehicle: $("s-vehicle").value.trim().toUpperCase().replace(/\s+/g, "") || null,
      date: $("s-date").value, gates, owner_confirmation: null, override_reason: null,
    };
    if (!$("owner-box").hidden) body.owner_confirmation = { name: $("s-owner-name").value.trim(), how: $("s-owner-how").value };
    if (!$("override-box").hidden && $("s-override").value.trim()) body.override_reason = $("s-override").value.trim();
    let slip;
    try {
      slip = await api("POST", "/api/v1/slips", body);
    } catch (err) {
      if (err.rule === "fees_owed" || err.rule === "no_fee_position") {
        $("s-fees").className = "fee owed";
        if (mayManage) {
          showOverride(true);
          err.field = "override_reason";
        } else {
          err.message += " " + gh.t("Only the manager can let it pass: call the manager.");
          err.field = "unit";
        }
      }
      throw err;
    }
    showSlip(slip);
    clock.reset();
    form.reset();
    $("s-date").value = estateDay();
    $("items").replaceChildren(itemRow());
    showOverride(false);
    showChoices();
    say(gh.t("Slip {number} issued.", { number: slip.number }));
    loadSlips();
  });

  function showSlip(slip) {
    facts($("slip-facts"), slipFacts(slip));
    $("slip-panel").dataset.number = slip.number;
    $("slip-qr").src = `/api/v1/slips/${enc(slip.number)}/qr.svg`;
    $("slip-panel").hidden = false;
    $("slip-made-h").focus();
  }
  $("slip-print").addEventListener("click", () => window.print());

  async function loadSlips() {
    try {
      const slips = listOf(await api("GET", `/api/v1/slips?date=${enc(estateDay())}&limit=100`));
      $("recent-list").replaceChildren(...slips.map((slip) => {
        const li = el("li");
        li.dataset.number = slip.number;
        li.dataset.state = slip.state;
        const head = el("p", { className: "title" });
        fact(head, "number", slip.number);
        fact(head, "unit", slip.unit);
        fact(head, `state-word ${slip.state}`, named(SLIP_STATES, slip.state));
        const more = el("p", { className: "more" });
        fact(more, "kind", named(SLIP_KINDS, slip.kind));
        fact(more, "gates", (slip.gates || []).join(", "));
        if (slip.override) fact(more, "override", gh.t("manager's override: {reason}", { reason: slip.override.reason }));
        const buttons = el("p", { className: "buttons" });
        buttons.append(action(gh.t("Show"), "show", async () => showSlip(slip)));
        li.append(head, more, buttons);
        return li;
      }));
      $("recent-none").hidden = slips.length > 0;
    } catch (err) {
      say(err.message, false);
    } finally {
      $("recent-list").dataset.drawn = "yes";
    }
  }
  showChoices();
  loadSlips();
};

// -- the guard's slip check --------------------------------------------------------------------------

views.check = function () {
  const form = $("check-form");
  const gate = $("c-gate");
  gate.value = localStorage.getItem("gh.slipGate") || "";
  api("GET", "/api/v1/gates").then((gates) => {
    const ids = listOf(gates).map((g) => g.gate_id);
    gate.setAttribute("list", "c-gate-list");
    gate.after(el("datalist", { id: "c-gate-list" }, ...ids.map((id) => el("option", { value: id }))));
    if (!gate.value && ids.length === 1) gate.value = ids[0];
  }).catch(() => {});
  $("c-text").addEventListener("keydown", (e) => {  // a scanner ends its text with Enter
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });

  function verdict(accepted, reason, slip, rule) {
    const v = $("verdict");
    v.className = `verdict ${accepted ? "accepted" : "refused"}`;
    v.dataset.result = accepted ? "accepted" : "refused";
    v.dataset.rule = rule || "";
    $("verdict-word").textContent = accepted ? gh.t("Accepted: let the goods out") : gh.t("Refused: do not let out");
    $("verdict-reason").textContent = reason;
    facts($("verdict-facts"), slip ? slipFacts(slip).filter(([, value]) => value) : []);
    v.hidden = false;
  }

  move(form, async () => {
    const text = $("c-text").value.trim();
    const body = { gate_id: gate.value.trim() };
    if (/^GHP\d*\./.test(text)) body.qr = text; else body.number = text.toUpperCase();
    localStorage.setItem("gh.slipGate", body.gate_id);
    $("verdict").hidden = true;
    try {
      const done = await api("POST", "/api/v1/slips/check", body);
      const accepted = done.accepted !== false;
      verdict(accepted, accepted ? gh.t("Slip {number}: valid, now used.", { number: (done.slip || {}).number || text })
        : (done.detail || done.reason || ""), done.slip, done.rule);
    } catch (err) {
      if (err.rule === "form" || err.status === 422 && err.rule === "bad_input") throw err;
      verdict(false, err.message, null, err.rule);
    }
    $("c-text").value = "";
    $("c-text").focus();
  });
};

// -- permits -------------------------------------------------------------------------------------------

const PERMIT_STATES = { applied: gh.t("applied"), approved: gh.t("active"), suspended: gh.t("work stopped"), ended: gh.t("ended") };
const DAY_NAMES = [null, gh.t("Mon"), gh.t("Tue"), gh.t("Wed"), gh.t("Thu"), gh.t("Fri"), gh.t("Sat"), gh.t("Sun")];
const isEngineering = reno.dataset.engineering === "yes" || reno.dataset.role === "engineering";

// "8:00", "0800" or "08:00" as HH:MM, or a Refusal on the box
function hhmm(input) {
  const m = /^(\d{1,2})[:：.]?(\d{2})$/.exec(input.value.trim());
  if (!m || +m[1] > 23 || +m[2] > 59) throw new Refusal(gh.t("Type a time as hours:minutes, such as 18:30."), input);
  return `${pad(+m[1])}:${m[2]}`;
}

// one worker a line: "name, ID number" (a comma, a tab or the last word that looks like an ID)
function workersOf(input) {
  const out = [];
  for (const line of input.value.split(/\n/).map((l) => l.trim()).filter(Boolean)) {
    let name = line, doc = null;
    const parts = line.split(/\s*[,，\t]\s*/);
    if (parts.length > 1) { name = parts[0]; doc = parts.slice(1).join("").replace(/\s+/g, ""); }
    else {
      const m = /^(.*\S)\s+([0-9A-Za-z]{4,30})$/.exec(line);
      if (m) { name = m[1]; doc = m[2]; }
    }
    out.push({ name, id_doc_no: doc ? doc.toUpperCase() : null });
  }
  return out;
}

function permitFacts(p) {
  const ap = p.applicant || {};
  const hours = p.hours || {};
  const dep = p.deposit || {};
  const dr = p.drawings || {};
  const doc = p.document || {};
  const sus = p.suspension;
  return [
    [gh.t("State"), named(PERMIT_STATES, p.state)], [gh.t("Unit"), p.unit],
    [gh.t("Applicant"), ap.name ? `${ap.name} (${named(STANDINGS, ap.standing)})` : ""],
    [gh.t("Renovation company"), p.company],
    [gh.t("Site manager"), p.site_manager ? `${p.site_manager.name} ${p.site_manager.phone || ""}` : ""],
    [gh.t("Workers"), (p.workers || []).map((w) => w.name + (w.id_doc_tail ? ` (…${w.id_doc_tail})` : "")).join(", ")],
    [gh.t("Period"), `${p.period_from} – ${p.period_until}`],
    [gh.t("Working hours"), hours.start ? `${hours.start}–${hours.end} ${(hours.weekdays || []).map((d) => DAY_NAMES[d]).join(" ")}` : ""],
    [gh.t("Deposit"), dep.amount_cents ? gh.t("{amount} (receipt {no})", { amount: gh.yuan(dep.amount_cents), no: dep.receipt_no }) : ""],
    [gh.t("Deposit refund on"), dep.refund_on],
    [gh.t("Deductions"), dep.deductions_cents ? `${gh.yuan(dep.deductions_cents)}: ${dep.deduction_reason || ""}` : ""],
    [gh.t("Drawings"), !dr.ref ? "" : dr.approved_by ? gh.t("{ref}, approved by {who} on {date}", { ref: dr.ref, who: dr.approved_by, date: dr.approved_on || "" }) : dr.ref],
    [gh.t("Permit document"), !doc.number ? "" : doc.lost ? gh.t("{number}: reported lost", { number: doc.number }) : doc.number],
    [gh.t("Work stopped"), sus ? gh.t("{reason} (approved by engineering: {who}, {date})", { reason: sus.reason || "", who: sus.engineering_by || "", date: sus.engineering_on || "" }) : ""],
    [gh.t("Exit"), p.exit ? `${when(p.exit.at)} · ${p.exit.inspected_by || ""}: ${p.exit.inspection || ""}` : ""],
    [gh.t("Workers' passes still out"), (p.passes_out || []).join(", ") || (p.state === "ended" ? gh.t("none") : "")],
  ];
}

function permitItem(p, open) {
  const li = el("li");
  li.dataset.permit = p.permit_no;
  li.dataset.state = p.state;
  const head = el("p", { className: "title" });
  fact(head, "number", p.permit_no);
  fact(head, "unit", p.unit);
  fact(head, `state-word ${p.state}`, named(PERMIT_STATES, p.state));
  const more = el("p", { className: "more" });
  fact(more, "applicant", (p.applicant || {}).name);
  fact(more, "company", p.company);
  fact(more, "period", `${p.period_from} – ${p.period_until}`);
  li.append(head, more);
  if (open) {
    const buttons = el("p", { className: "buttons" });
    buttons.append(action(gh.t("Open"), "open", async () => open(p)));
    li.append(buttons);
  }
  return li;
}

const permitPath = (p, moveName) => `/api/v1/permits/${enc(p.permit_no)}${moveName ? "/" + moveName : ""}`;
const orNull = (text) => (text === undefined || text === "" ? null : text);

// each move's form: its boxes and what it sends (the API's names)
function moveSpecs(p) {
  const today = estateDay();
  return {
    approve: { label: gh.t("Approve"), specs: [{ label: gh.t("Note"), field: "note" }],
      body: (v) => ({ note: orNull(v.note) }), done: gh.t("Permit {no} approved: it is active.") },
    extend: { label: gh.t("Extend"), specs: [
      { label: gh.t("Number on the permit shown"), field: "document_no", required: true },
      { label: gh.t("New end date"), field: "period_until", type: "date", required: true },
      { label: gh.t("Reason"), field: "reason" }],
      body: (v) => ({ document_no: v.document_no, period_until: v.period_until, reason: orNull(v.reason) }),
      done: gh.t("Permit {no} extended.") },
    suspend: { label: gh.t("Suspend"), specs: [
      { label: gh.t("Reason for stopping work"), field: "reason", required: true },
      ...(isEngineering ? [] : [
        { label: gh.t("Approved by (engineering department)"), field: "engineering_approval.by" },
        { label: gh.t("Approved on"), field: "engineering_approval.on", type: "date", value: today }])],
      body: (v) => {
        const b = { reason: orNull(v.reason) };
        if (v["engineering_approval.by"]) b.engineering_approval = { by: v["engineering_approval.by"], on: v["engineering_approval.on"] || today };
        return b;
      },
      done: gh.t("Permit {no} suspended: its workers' passes are stopped.") },
    resume: { label: gh.t("Resume"), specs: [{ label: gh.t("Note"), field: "reason" }],
      body: (v) => ({ reason: orNull(v.reason) }), done: gh.t("Permit {no} resumed: its workers' passes work again.") },
    "report-lost": { label: gh.t("Report lost"), specs: [
      { label: gh.t("Loss declaration ref."), field: "loss_declaration_ref", required: true },
      { label: gh.t("Note"), field: "reason" }],
      body: (v) => ({ loss_declaration_ref: orNull(v.loss_declaration_ref), reason: orNull(v.reason) }),
      done: gh.t("Permit {no}: the document is reported lost.") },
    reissue: { label: gh.t("Reissue"), specs: [{ label: gh.t("Note"), field: "reason" }],
      body: (v) => ({ reason: orNull(v.reason) }), done: gh.t("Permit {no}: a new document is issued.") },
    exit: { label: gh.t("Exit"), specs: [
      { label: gh.t("Inspected by"), field: "inspected_by", required: true },
      { label: gh.t("Inspection"), field: "inspection", type: "textarea", required: true },
      { label: gh.t("Deposit refund on"), field: "refund_on", type: "date", required: true, value: estateDay(new Date(), 7) },
      { label: gh.t("Deductions (yuan)"), field: "deductions_cents", inputmode: "decimal", value: "0" },
      { label: gh.t("Reason for the deductions"), field: "deduction_reason" }],
      body: (v, f) => ({ inspected_by: v.inspected_by, inspection: v.inspection, refund_on: v.refund_on,
        deductions_cents: fenOf(f, "deductions_cents", { optional: true }) || 0, deduction_reason: orNull(v.deduction_reason) }),
      done: gh.t("Permit {no} ended: exit recorded.") },
  };
}

function movesFor(p) {
  const lost = !!(p.document || {}).lost;
  const doc = lost ? ["reissue"] : ["report-lost"];
  return { applied: ["approve"], approved: ["extend", "suspend", ...doc, "exit"],
    suspended: ["resume", "extend", ...doc, "exit"], ended: [] }[p.state] || [];
}

// a permit's panel on the desk: its facts, and a button for each move its state allows
function showPermit(p, after) {
  $("permit-h").textContent = gh.t("Permit {no}", { no: p.permit_no });
  $("permit-panel").dataset.permit = p.permit_no;
  $("permit-panel").dataset.state = p.state;
  facts($("permit-facts"), permitFacts(p));
  const specs = moveSpecs(p);
  const holder = $("permit-move-form");
  holder.replaceChildren();
  const buttons = movesFor(p).map((name) => {
    const b = el("button", { type: "button", id: `move-${name}`, textContent: specs[name].label });
    b.setAttribute("aria-expanded", "false");
    b.addEventListener("click", () => {
      for (const other of $("permit-moves").querySelectorAll("button")) other.setAttribute("aria-expanded", "false");
      b.setAttribute("aria-expanded", "true");
      const spec = specs[name];
      const f = inlineForm(spec.specs, spec.label, async (v, form) => {
        const done = await api("POST", permitPath(p, name), spec.body(v, form));
        say(spec.done.replace("{no}", done.permit_no));
        if (name === "exit") {
          const out = done.passes_out || [];
          const passes = out.length ? gh.t("Passes still out: {uids}", { uids: out.join(", ") }) : gh.t("Every pass is back.");
          say(spec.done.replace("{no}", done.permit_no) + " " + passes);
        }
        showPermit(done, after);
        if (after) await after();
      });
      f.id = `form-${name}`;
      holder.replaceChildren(f);
      const first = f.querySelector("input, textarea, select");
      if (first) first.focus();
    });
    return b;
  });
  $("permit-moves").replaceChildren(...buttons);
  $("permit-panel").hidden = false;
}

views.desk = function () {
  const form = $("apply-form");
  const clock = timed(form);
  // the unit's registered owners: offered as the applicant's name; the one typed is sent as
  // the applicant's person (the API checks an owner's application against them)
  let owners = [];
  unitCheck($("p-unit"), (code, found) => {
    owners = (found && found.owners) || [];
    $("p-owner-list").replaceChildren(...owners.map((o) => el("option", { value: o.name })));
  });
  $("p-from").value = estateDay();
  function showStanding() {
    const s = $("p-standing").value;
    $("p-auth-box").hidden = s !== "agent";
    $("p-letter-box").hidden = s !== "company";
  }
  $("p-standing").addEventListener("change", showStanding);
  showStanding();

  async function open(p) {
    showPermit(await api("GET", permitPath(p)), load);
    $("permit-h").focus();
  }
  async function load() {
    const q = $("find-q").value.trim();
    const found = listOf(await api("GET", `/api/v1/permits?limit=30&q=${enc(q)}`));
    $("permits-list").replaceChildren(...found.map((p) => permitItem(p, open)));
    $("permits-none").hidden = found.length > 0;
    $("permits-list").dataset.drawn = q || "yes";
    return found;
  }
  move($("find-form"), async () => {
    const found = await load();
    if (found.length === 1) await open(found[0]);
  });

  move(form, async () => {
    const standing = $("p-standing").value;
    const weekdays = [...document.querySelectorAll("input[name=weekday]:checked")].map((c) => Number(c.value));
    if (!weekdays.length) throw new Refusal(gh.t("Choose at least one working day."), $("p-day-1"));
    const body = {
      unit: $("p-unit").value.trim().toUpperCase(),
      applicant: { name: $("p-applicant").value.trim(), standing,
        person_id: (owners.find((o) => o.name === $("p-applicant").value.trim()) || {}).person_id || null,
        authorisation_ref: standing === "agent" ? orNull($("p-auth").value.trim()) : null,
        company_letter_ref: standing === "company" ? orNull($("p-letter").value.trim()) : null },
      company: orNull($("p-company").value.trim()),
      site_manager: { name: $("p-manager").value.trim(), phone: $("p-manager-phone").value.trim() },
      workers: workersOf($("p-workers")),
      period_from: $("p-from").value, period_until: $("p-until").value,
      hours: { start: hhmm($("p-start")), end: hhmm($("p-end")), weekdays },
      deposit: { amount_cents: fenOf(form, "deposit.amount_cents"), receipt_no: $("p-receipt").value.trim() },
      drawings: { ref: $("p-drawings").value.trim(), approved_by: orNull($("p-drawings-by").value.trim()),
        approved_on: orNull($("p-drawings-on").value) },
    };
    const made = await api("POST", "/api/v1/permits", body);
    clock.reset();
    form.reset();
    $("p-from").value = estateDay();
    $("p-unit-check").textContent = "";
    showStanding();
    say(gh.t("Permit {no} applied for unit {unit}.", { no: made.permit_no, unit: made.unit }));
    showPermit(made, load);
    await load();
  });
  load().catch((err) => say(err.message, false));
};

// -- engineering ---------------------------------------------------------------------------------------

views.engineering = function () {
  const lists = [["applied", "drawings"], ["approved", "suspensions"], ["suspended", "suspended"]];
  async function load() {
    for (const [state, name] of lists) {
      try {
        const found = listOf(await api("GET", `/api/v1/permits?state=${state}&limit=100`));
        $(`${name}-list`).replaceChildren(...found.map((p) => {
          const li = permitItem(p);
          const detail = el("p", { className: "more" });
          const dr = p.drawings || {};
          fact(detail, "drawings", dr.ref ? gh.t("Drawings {ref}", { ref: dr.ref }) : "");
          if (p.suspension) fact(detail, "suspension", p.suspension.reason);
          li.append(detail);
          const specs = moveSpecs(p);
          const moveName = { applied: "approve", approved: "suspend", suspended: "resume" }[state];
          const spec = specs[moveName];
          const f = inlineForm(spec.specs, spec.label, async (v, form) => {
            const done = await api("POST", permitPath(p, moveName), spec.body(v, form));
            say(spec.done.replace("{no}", done.permit_no));
            await load();
          });
          f.dataset.move = moveName;
          li.append(f);
          return li;
        }));
        $(`${name}-none`).hidden = found.length > 0;
      } catch (err) {
        say(err.message, false);
      } finally {
        $(`${name}-list`).dataset.drawn = "yes";
      }
    }
  }
  load();
};

// -- violations ------------------------------------------------------------------------------------

const LEVELS = { general: gh.t("general"), major: gh.t("major") };
const MEASURES = [["persuasion", gh.t("Persuasion")], ["rectification", gh.t("Rectification by a deadline")],
  ["compensation", gh.t("Compensation")], ["public_criticism", gh.t("Public criticism")],
  ["lawyer_letter", gh.t("Lawyer's letter")], ["legal_action", gh.t("Legal action")]];
const MEASURE_NAMES = Object.fromEntries(MEASURES);

views.violations = function () {
  unitCheck($("vi-unit"));
  const kindNames = {};
  for (const o of $("vi-kind").options) kindNames[o.value] = o.textContent;
  move($("violation-form"), async (form) => {
    const v = values(form);
    const made = await api("POST", "/api/v1/violations", {
      unit: v.unit.toUpperCase(), permit: orNull(v.permit), kind: v.kind, what: v.what, place: v.place,
      found_at: new Date().toISOString(), found_by: v.found_by, level: v.level });
    form.reset();
    $("vi-unit-check").textContent = "";
    say(gh.t("Violation recorded for {unit}.", { unit: made.unit }));
    await load();
  });

  async function load() {
    try {
      const found = listOf(await api("GET", "/api/v1/violations?state=open&limit=100"));
      $("open-list").replaceChildren(...found.map((x) => {
        const li = el("li");
        li.dataset.violation = x.id;
        const head = el("p", { className: "title" });
        fact(head, "unit", x.unit);
        fact(head, "kind", named(kindNames, x.kind));
        fact(head, `state-word ${x.level === "major" ? "refused" : ""}`, named(LEVELS, x.level));
        const more = el("p", { className: "more" });
        fact(more, "what", x.what);
        fact(more, "place", x.place);
        fact(more, "found", gh.t("found {time} by {who}", { time: when(x.found_at), who: x.found_by }));
        if (x.permit) fact(more, "permit", x.permit);
        const steps = el("p", { className: "more" });
        for (const m of x.measures || []) fact(steps, "measure", `${named(MEASURE_NAMES, m.measure)}${m.deadline ? " → " + m.deadline : ""}`);
        if (x.penalty) fact(steps, "penalty", gh.t("penalty {amount}: {reason}", { amount: gh.yuan(x.penalty.amount_cents), reason: x.penalty.reason }));
        li.append(head, more, steps);
        const measureForm = inlineForm([
          { label: gh.t("Measure"), field: "measure", options: MEASURES },
          { label: gh.t("Note"), field: "note" },
          { label: gh.t("Deadline (rectification)"), field: "deadline", type: "date" }],
        gh.t("Record the measure"), async (v) => {
          await api("POST", `/api/v1/violations/${enc(x.id)}/measures`, { measure: v.measure, note: v.note || "", deadline: orNull(v.deadline) });
          say(gh.t("Measure recorded."));
          await load();
        });
        measureForm.dataset.form = "measure";
        li.append(measureForm);
        if (mayManage && !x.penalty) {
          const penaltyForm = inlineForm([
            { label: gh.t("Penalty (yuan)"), field: "amount_cents", inputmode: "decimal", required: true },
            { label: gh.t("Reason"), field: "reason", required: true }],
          gh.t("Set the penalty"), async (v, f) => {
            await api("POST", `/api/v1/violations/${enc(x.id)}/penalty`, { amount_cents: fenOf(f, "amount_cents"), reason: v.reason });
            say(gh.t("Penalty set."));
            await load();
          });
          penaltyForm.dataset.form = "penalty";
          li.append(penaltyForm);
        }
        const buttons = el("p", { className: "buttons" });
        buttons.append(action(gh.t("Mark handled"), "handled", async () => {
          await api("POST", `/api/v1/violations/${enc(x.id)}/handled`, { note: "" });
          say(gh.t("Violation marked handled."));
          await load();
        }));
        li.append(buttons);
        return li;
      }));
      $("open-none").hidden = found.length > 0;
    } catch (err) {
      say(err.message, false);
    } finally {
      $("open-list").dataset.drawn = "yes";
    }
  }
  load();
};

// -- the month --------------------------------------------------------------------------------------

views.month = function () {
  move($("month-form"), async () => {
    const m = $("month-pick").value;
    if (!/^\d{4}-\d{2}$/.test(m)) throw new Refusal(gh.t("Choose a month."), $("month-pick"));
    window.location.assign(`/permits/month/${m}`);
  });
  $("figures").dataset.drawn = "yes";
};

if (views[view]) views[view]();
reno.dataset.ready = "yes";
