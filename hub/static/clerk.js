// The IC card clerk's page: one search box, then the holder, the card and its moves, and the
// day at a glance. Everything goes through the JSON API with the session cookie; nothing is
// built from HTML strings, so names typed by people cannot become markup. Every word comes
// through gh.t (hub/static/i18n.js), times through gh.instant, money through gh.yuan/gh.fen.
// A failed move is said inside the form that failed, on the field the hub named.
"use strict";

const $ = (id) => document.getElementById(id);
const desk = $("desk");
const depositTypes = new Set((desk.dataset.depositTypes || "").split(",").filter(Boolean));
const current = { person: null, card: null };

const STATUS = {
  in_stock: gh.t("in stock"), personalised: gh.t("personalised"), active: gh.t("active"),
  suspended: gh.t("suspended"), lost: gh.t("lost"), revoked: gh.t("revoked"), returned: gh.t("returned"),
  scrapped: gh.t("scrapped"), expired: gh.t("expired"),
};
const MOVE = {
  personalise: gh.t("Personalised"), issue: gh.t("Issued"), suspend: gh.t("Suspended"), resume: gh.t("Resumed"),
  report_lost: gh.t("Reported lost"), revoke: gh.t("Revoked"), return: gh.t("Taken back"),
  refund_deposit: gh.t("Deposit refunded"), forfeit_deposit: gh.t("Deposit forfeited"),
  restock: gh.t("Back in stock"), damage: gh.t("Damaged"), scrap: gh.t("Scrapped"), expire: gh.t("Expired"),
  renew: gh.t("Renewed"), transfer: gh.t("Moved to another card type"),
};
const ROLE = {
  owner: gh.t("Owner"), family: gh.t("Family"), tenant: gh.t("Tenant"), domestic_helper: gh.t("Domestic helper"),
  visitor: gh.t("Visitor"), renovation_worker: gh.t("Renovation worker"),
};
const CARD_TYPE = {
  owner: gh.t("Owner"), resident: gh.t("Resident (family)"), tenant: gh.t("Tenant"),
  domestic_helper: gh.t("Domestic helper"), temporary: gh.t("Temporary"),
  renovation_worker: gh.t("Renovation worker"), staff: gh.t("Staff"),
};
const STOCK_NOTE = {
  low: gh.t("below its minimum: reorder"), high: gh.t("above its maximum"),
  below_zero: gh.t("below zero: record the delivery these cards came from"),
};
// (said once here: the catalog's extraction does not see a t() inside another's arguments)
const NO_UNIT = gh.t("no unit");
const NO_HOLDER = gh.t("no holder");
const named = (names, value) => names[value] || String(value || "").replace(/_/g, " ");

// -- one tidy-up for every box that takes a UID ---------------------------------------------

// "04 a1:b2-c3" -> "04A1B2C3": the separators people and readers put in, and lower case
function tidyUid(text) {
  let s = String(text || "").trim().replace(/[\s:\-_.]/g, "").toUpperCase();
  if (s.startsWith("0X")) s = s.slice(2);
  return s;
}

// the search box takes names and units too ("A-12-03" keeps its dashes): only text that is
// nothing but hex digits and separators, with a digit, and whole bytes of a card's length, is a UID
function tidySearch(text) {
  const raw = String(text || "").trim();
  const uid = tidyUid(raw);
  const looksLikeUid = /^(0x)?[0-9a-f\s:\-_.]+$/i.test(raw) && /\d/.test(uid) && uid.length >= 6
    && uid.length % 2 === 0 && uid.length <= 32;
  return looksLikeUid ? uid : raw;
}

for (const box of document.querySelectorAll("input.uid-box")) {
  box.addEventListener("change", () => { box.value = tidyUid(box.value); });
}
// money as typed ("12.5", "¥12") shown back the way it is kept: yuan with two places of fen
for (const box of document.querySelectorAll("input.money")) {
  box.addEventListener("change", () => {
    const fen = gh.fen(box.value);
    if (!Number.isNaN(fen)) box.value = (fen / 100).toFixed(2);
  });
}

// -- talking to the hub, what the page says, its forms: hub/static/forms.js -----------------------

const { api, say, Refusal } = gh;

// the field a refusal is about when the hub names none: by its rule (hub/cards/rules.py)
const RULE_FIELD = {
  validity_end_required: "valid_until", validity_in_past: "valid_until", validity_reversed: "valid_until",
  validity_beyond_permit: "valid_until", validity_beyond_tenancy: "valid_until",
  tenancy_end_required: "tenancy_end", tenancy_ended: "tenancy_end", tenancy_reversed: "tenancy_end",
  police_registration_required: "police_registration_no", permit_required: "permit_no",
  permit_expired: "permit_until", employer_household_required: "employer_unit", unit_required: "holder.unit",
  unknown_unit: "holder.unit", unit_not_handed_over: "holder.unit", card_type_not_for_person: "card_type",
  holder_differs_from_person: "holder.name", deposit_required: "deposit.amount_cents",
  deposit_not_taken: "deposit.amount_cents", deposit_receipt_required: "deposit.receipt_no",
  receipt_required: "receipt_no", replacement_same_uid: "replacement_uid", reason_required: "reason",
};

const { clearErrors, formError, move } = gh.forms({ ruleField: RULE_FIELD });

function moneyIn(input) {
  const text = input.value.trim();
  if (!text) return null;
  const fen = gh.fen(text);
  if (Number.isNaN(fen)) throw new Refusal(gh.t("Type an amount in yuan, such as 12.50."), input);
  return fen;
}

function dayIn(input) {
  const text = input.value.trim();
  if (!text) return null;
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text.replace(/[/.]/g, "-"));
  const d = m && new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  if (!m || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) {
    throw new Refusal(gh.t("Type a date as year-month-day, such as 2026-12-31."), input);
  }
  return `${m[1]}-${m[2].padStart(2, "0")}-${m[3].padStart(2, "0")}`;
}

// the last second of ``day`` in the estate's timezone (not the browser's), as an ISO instant
function endOfEstateDay(day) {
  if (!day) return null;
  const [y, mo, d] = day.split("-").map(Number);
  return gh.estateInstant(y, mo, d, 23, 59, 59).toISOString();
}

function done(form) {
  form.reset();
  clearErrors(form);
}

// -- search -------------------------------------------------------------------------------

function item(label, onPick) {
  const li = document.createElement("li");
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onPick);
  li.append(b);
  return li;
}

function showResults(found) {
  const list = $("results");
  list.replaceChildren();
  for (const u of found.units || []) list.append(item(gh.t("Unit {code}", { code: u.code }), () => pickUnit(u.code)));
  for (const p of found.people || []) {
    list.append(item(gh.t("{name}: {role}, {unit}", { name: p.name, role: named(ROLE, p.role),
      unit: p.unit_code || NO_UNIT }), () => pickPerson(p.id)));
  }
  for (const c of found.cards || []) {
    list.append(item(gh.t("Card {uid}: {status}, {holder} {unit}", { uid: c.uid, status: named(STATUS, c.status),
      holder: c.holder_name || NO_HOLDER, unit: c.holder_unit || "" }).trim(), () => pickCard(c.uid)));
  }
  if (!list.children.length) {
    say(gh.t("Nothing found."), false);
  } else {
    say(gh.t("{count} found.", { count: list.children.length }));
    list.querySelector("button").focus();
  }
}

move("search-form", async () => {
  $("results").replaceChildren();
  say("");
  const q = tidySearch($("q").value);
  $("q").value = q;
  showResults(await api("GET", `/api/v1/search?q=${encodeURIComponent(q)}`));
});

async function pickUnit(code) {
  try {
    const u = await api("GET", `/api/v1/units/${encodeURIComponent(code)}`);
    showResults({ units: [], people: u.people, cards: u.cards });
    say(gh.t("Unit {code}: {people} people, {cards} cards.", { code: u.code, people: u.people.length,
      cards: u.cards.length }));
  } catch (err) { formError($("search-form"), err); }
}

// -- the holder ---------------------------------------------------------------------------

function detail(dl, name, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value;
  dl.append(dt, dd);
}

async function pickPerson(id) {
  try {
    const p = await api("GET", `/api/v1/people/${id}`);
    current.person = p;
    $("person").hidden = false;
    $("no-one").hidden = true;
    clearErrors($("photo-form"));
    const dl = $("person-details");
    dl.replaceChildren();
    detail(dl, gh.t("Name"), p.name);
    detail(dl, gh.t("Role"), named(ROLE, p.role));
    detail(dl, gh.t("Unit"), p.unit_code);
    detail(dl, gh.t("Phone"), p.phone);
    detail(dl, gh.t("ID document"), p.id_doc_no);
    detail(dl, gh.t("Tenancy ends"), p.tenancy_end);
    showPhoto(p);
    $("person-h").focus();
    say(gh.t("{name} selected.", { name: p.name }));
    await showCardsOf(p);
  } catch (err) { formError($("search-form"), err); }
}

// the cards held in the person's name at their unit, each a step to its moves
async function showCardsOf(p) {
  const list = $("person-cards");
  list.replaceChildren();
  if (!p.unit_code) return;
  const u = await api("GET", `/api/v1/units/${encodeURIComponent(p.unit_code)}`);
  for (const c of u.cards.filter((x) => x.holder_name === p.name)) {
    list.append(item(gh.t("{uid}: {status}, {type}", { uid: c.uid, status: named(STATUS, c.status),
      type: named(CARD_TYPE, c.card_type) }), () => pickCard(c.uid)));
  }
  if (!list.children.length) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = gh.t("No card in this name yet.");
    list.append(li);
  }
}

function showPhoto(p) {
  const img = $("photo");
  img.hidden = !p.has_photo;
  $("no-photo").hidden = p.has_photo;
  if (p.has_photo) img.src = `/api/v1/people/${p.id}/photo?t=${Date.now()}`;
}

move("photo-form", async (form) => {
  const file = $("photo-file").files[0];
  if (!current.person) return;
  const data = new FormData();
  data.append("photo", file, file.name);
  const r = await api("POST", `/api/v1/people/${current.person.id}/photo`, data);
  current.person.has_photo = true;
  showPhoto(current.person);
  done(form);
  say(gh.t("Photo saved ({width} x {height}).", { width: r.width, height: r.height }));
});

function issueForPerson() {
  const p = current.person;
  if (!p) return;
  const form = $("issue-form");
  clearErrors(form);
  $("issue-person").value = p.id;
  $("issue-name").value = p.name;
  $("issue-unit").value = p.unit_code || "";
  const type = { owner: "owner", family: "resident", tenant: "tenant", domestic_helper: "domestic_helper",
                 renovation_worker: "renovation_worker", visitor: "temporary" }[p.role];
  if (type) $("issue-type").value = type;
  if (p.tenancy_end) $("issue-tenancy-end").value = p.tenancy_end;
  $("issue-for").hidden = false;
  $("issue-for").textContent = gh.t("For {name}, {unit}", { name: p.name, unit: p.unit_code || NO_UNIT });
  showTypeFields();
  $("issue-uid").focus();
}

// -- the card -----------------------------------------------------------------------------

function depositText(d) {
  if (!d) return gh.t("none");
  if (d.refunded_at) return gh.t("refunded");
  if (d.transferred_to) return gh.t("moved to card {uid}", { uid: d.transferred_to });
  return gh.t("{amount}, receipt {receipt}", { amount: gh.yuan(d.amount_cents), receipt: d.receipt_no });
}

async function pickCard(uid, keepMessage = false) {
  try {
    const m = await api("GET", `/api/v1/cards/${encodeURIComponent(uid)}/moves`);
    let card = null;
    try { card = await api("GET", `/api/v1/cards/${encodeURIComponent(uid)}`); } catch (_) { /* no public view */ }
    current.card = m;
    $("card").hidden = false;
    $("card-uid").textContent = m.uid;
    $("card-status").textContent = named(STATUS, m.status);
    $("card-status").dataset.status = m.status;
    $("card-holder").textContent = card && card.holder ? `${card.holder.name}, ${card.holder.unit}` : NO_HOLDER;
    $("card-deposit").textContent = depositText(m.deposit);
    let any = false;
    for (const form of document.querySelectorAll("#card form[data-moves]")) {
      form.hidden = !form.dataset.moves.split(" ").some((mv) => m.allowed.includes(mv));
      clearErrors(form);
      any = any || !form.hidden;
    }
    $("no-moves").hidden = any;
    const first = document.querySelector("#card form:not([hidden]) input, #card form:not([hidden]) select");
    if (first) first.focus(); else $("card-h").focus();
    if (!keepMessage) say(gh.t("Card {uid} is {status}.", { uid: m.uid, status: named(STATUS, m.status) }));
  } catch (err) { formError($("search-form"), err); }
}

move("replace-form", async (form) => {
  const uid = current.card.uid;
  const kind = $("replace-kind").value;
  const body = {
    reason: $("replace-reason").value, replacement_uid: tidyUid($("replace-uid").value),
    fee_cents: moneyIn($("replace-fee")), receipt_no: $("replace-receipt").value.trim() || null,
  };
  const r = await api("POST", `/api/v1/cards/${uid}/${kind}`, body);
  done(form);
  say(gh.t("Card {uid} is {status}; card {new} issued in its place.", { uid, status: named(STATUS, r.to_status),
    new: r.replacement_uid }));
  await pickCard(r.replacement_uid, true);
  await Promise.all([loadStock(), loadToday()]);
});

move("return-form", async (form) => {
  const uid = current.card.uid;
  const r = await api("POST", `/api/v1/cards/${uid}/return`, {
    refund: $("return-refund").checked, receipt_no: $("return-receipt").value.trim() || null,
    reason: $("return-reason").value.trim() || null,
  });
  done(form);
  say(r.amount_cents ? gh.t("Card {uid} taken back; deposit refunded: {amount}.", { uid, amount: gh.yuan(-r.amount_cents) })
    : gh.t("Card {uid} taken back.", { uid }));
  await pickCard(uid, true);
  await loadToday();
});

move("scrap-form", async (form) => {
  const uid = current.card.uid;
  await api("POST", `/api/v1/cards/${uid}/scrap`, { reason: $("scrap-reason").value });
  done(form);
  say(gh.t("Card {uid} scrapped.", { uid }));
  await pickCard(uid, true);
  await Promise.all([loadStock(), loadToday()]);
});

// -- issuing ------------------------------------------------------------------------------

function showTypeFields() {
  const type = $("issue-type").value;
  for (const fs of document.querySelectorAll("#issue-form fieldset[data-for]")) {
    fs.hidden = fs.dataset.for === "deposit" ? !depositTypes.has(type) : fs.dataset.for !== type;
  }
}

move("issue-form", async (form) => {
  const type = $("issue-type").value;
  const body = {
    uid: tidyUid($("issue-uid").value), card_type: type,
    holder: { name: $("issue-name").value.trim(), unit: $("issue-unit").value.trim() || "-" },
    valid_until: endOfEstateDay(dayIn($("issue-until"))),
  };
  if ($("issue-person").value) body.person_id = Number($("issue-person").value);
  if (type === "tenant") {
    body.tenancy_end = dayIn($("issue-tenancy-end"));
    body.police_registration_no = $("issue-police").value.trim() || null;
  }
  if (type === "domestic_helper" && $("issue-employer").value.trim()) body.employer_unit = $("issue-employer").value.trim();
  if (type === "renovation_worker") {
    body.permit_no = $("issue-permit").value.trim() || null;
    body.permit_until = dayIn($("issue-permit-until"));
  }
  const deposit = depositTypes.has(type) ? moneyIn($("issue-deposit")) : null;
  if (deposit !== null) body.deposit = { amount_cents: deposit, receipt_no: $("issue-receipt").value.trim() };
  const r = await api("POST", "/api/v1/cards", body);
  done(form);
  $("issue-person").value = "";
  $("issue-for").hidden = true;
  showTypeFields();
  say(gh.t("Card {uid} issued: {status}.", { uid: r.uid, status: named(STATUS, r.status) }));
  await Promise.all([loadStock(), loadToday()]);
  await pickCard(r.uid, true);
  if (current.person) await showCardsOf(current.person);
});

// -- the day at a glance: stock and today's moves ------------------------------------------

async function loadStock() {
  const list = $("stock-levels");
  try {
    const s = await api("GET", "/api/v1/stock/levels");
    list.replaceChildren();
    for (const l of s.levels) {
      const li = document.createElement("li");
      li.dataset.type = l.card_type;
      li.dataset.count = l.in_stock;
      if (l.state && STOCK_NOTE[l.state]) li.className = "warn";
      const name = document.createElement("span");
      name.textContent = named(CARD_TYPE, l.card_type);
      const n = document.createElement("strong");
      n.textContent = String(l.in_stock);
      li.append(name, " ", n);
      if (STOCK_NOTE[l.state]) {
        const note = document.createElement("span");
        note.className = "note";
        note.textContent = STOCK_NOTE[l.state];
        li.append(" ", note);
      }
      list.append(li);
    }
    if (!s.levels.length) list.append(Object.assign(document.createElement("li"), { textContent: gh.t("Nothing recorded yet.") }));
  } catch (err) {
    list.replaceChildren(Object.assign(document.createElement("li"), { textContent: err.message, className: "error" }));
  } finally {
    list.removeAttribute("aria-busy");
  }
}

async function loadToday() {
  const list = $("today-moves");
  try {
    const d = await api("GET", "/clerk/today");
    list.replaceChildren();
    for (const m of d.items) {
      const li = document.createElement("li");
      const at = document.createElement("time");
      at.dateTime = m.at;
      at.textContent = gh.instant(m.at).slice(11, 16);
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = named(MOVE, m.move);
      const b = document.createElement("button");
      b.type = "button";
      b.className = "uid link";
      b.textContent = m.uid;
      b.addEventListener("click", () => pickCard(m.uid));
      const who = document.createElement("span");
      who.className = "hint";
      who.textContent = m.holder_name || "";
      const unit = document.createElement("span");
      unit.className = "hint unit";
      unit.textContent = m.holder_unit || "";
      li.append(at, " ", what, " ", b, " ", who, " ", unit);
      list.append(li);
    }
    $("today-none").hidden = d.items.length > 0;
  } catch (err) {
    $("today-none").hidden = false;
    $("today-none").textContent = err.message;
  }
}

move("delivery-form", async (form) => {
  await api("POST", "/api/v1/stock/deliveries", {
    card_type: $("delivery-type").value, qty: Number($("delivery-qty").value), ref: $("delivery-ref").value.trim(),
  });
  done(form);
  say(gh.t("Delivery recorded."));
  await loadStock();
});

move("blank-scrap-form", async (form) => {
  await api("POST", "/api/v1/stock/scrap", {
    card_type: $("blank-scrap-type").value, qty: Number($("blank-scrap-qty").value),
    reason: $("blank-scrap-reason").value.trim(),
  });
  done(form);
  say(gh.t("Scrapped blanks recorded."));
  await loadStock();
});

// -- the keyboard -------------------------------------------------------------------------

$("issue-for-person").addEventListener("click", issueForPerson);
$("issue-type").addEventListener("change", showTypeFields);
document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
  if (e.key === "/" && !typing) { e.preventDefault(); $("q").focus(); $("q").select(); }
  if (e.key === "Escape") { $("q").focus(); $("q").select(); }
});
window.clerk = { tidyUid, tidySearch };
showTypeFields();
loadStock();
loadToday();
