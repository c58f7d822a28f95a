// The IC card clerk's page: one search box, then the holder, the card and its moves.
// Everything goes through the JSON API with the session cookie; nothing is built from
// HTML strings, so names typed by people cannot become markup.
"use strict";

const $ = (id) => document.getElementById(id);
const depositTypes = new Set((document.body.dataset.depositTypes || "").split(",").filter(Boolean));
let current = { person: null, card: null };

function say(text, ok = true) {
  const m = $("message");
  m.textContent = text;
  m.className = ok ? "ok" : "error";
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body instanceof FormData) {
    opts.body = body;
  } else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : null;
  if (!r.ok) {
    const err = new Error((data && data.detail) || `HTTP ${r.status}`);
    err.rule = data && data.error;
    err.field = data && data.field;
    throw err;
  }
  return data;
}

function fail(err) {
  say(`${err.message}${err.rule ? ` (${err.rule})` : ""}`, false);
}

function endOfDay(value) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d, 23, 59, 59).toISOString();
}

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
  for (const u of found.units || []) list.append(item(`Unit ${u.code}`, () => pickUnit(u.code)));
  for (const p of found.people || []) list.append(item(`${p.name}: ${p.role.replace("_", " ")}, ${p.unit_code || "no unit"}`, () => pickPerson(p.id)));
  for (const c of found.cards || []) list.append(item(`Card ${c.uid}: ${c.status}, ${c.holder_name || "no holder"} ${c.holder_unit || ""}`, () => pickCard(c.uid)));
  if (!list.children.length) {
    say("Nothing found.", false);
  } else {
    say(`${list.children.length} found.`);
    list.querySelector("button").focus();
  }
}

async function search(event) {
  event.preventDefault();
  $("results").replaceChildren();
  try {
    showResults(await api("GET", `/api/v1/search?q=${encodeURIComponent($("q").value)}`));
  } catch (err) { fail(err); }
}

async function pickUnit(code) {
  try {
    const u = await api("GET", `/api/v1/units/${encodeURIComponent(code)}`);
    showResults({ units: [], people: u.people, cards: u.cards });
    say(`Unit ${u.code}: ${u.people.length} people, ${u.cards.length} cards.`);
  } catch (err) { fail(err); }
}

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
    const dl = $("person-details");
    dl.replaceChildren();
    detail(dl, "Name", p.name);
    detail(dl, "Role", p.role.replace("_", " "));
    detail(dl, "Unit", p.unit_code);
    detail(dl, "Phone", p.phone);
    detail(dl, "ID document", p.id_doc_no);
    detail(dl, "Tenancy ends", p.tenancy_end);
    showPhoto(p);
    $("person-h").focus();
    say(`${p.name} selected.`);
  } catch (err) { fail(err); }
}

function showPhoto(p) {
  const img = $("photo");
  img.hidden = !p.has_photo;
  $("no-photo").hidden = p.has_photo;
  if (p.has_photo) img.src = `/api/v1/people/${p.id}/photo?t=${Date.now()}`;
}

async function uploadPhoto(event) {
  event.preventDefault();
  const file = $("photo-file").files[0];
  if (!current.person || !file) return;
  const form = new FormData();
  form.append("photo", file, file.name);
  try {
    const r = await api("POST", `/api/v1/people/${current.person.id}/photo`, form);
    current.person.has_photo = true;
    showPhoto(current.person);
    say(`Photo saved (${r.width} x ${r.height}).`);
  } catch (err) { fail(err); }
}

function issueForPerson() {
  const p = current.person;
  if (!p) return;
  $("issue-person").value = p.id;
  $("issue-name").value = p.name;
  $("issue-unit").value = p.unit_code || "";
  const type = { owner: "owner", family: "resident", tenant: "tenant", domestic_helper: "domestic_helper",
                 renovation_worker: "renovation_worker", visitor: "temporary" }[p.role];
  if (type) $("issue-type").value = type;
  if (p.tenancy_end) $("issue-tenancy-end").value = p.tenancy_end;
  showTypeFields();
  $("issue-uid").focus();
}

async function pickCard(uid, keepMessage = false) {
  try {
    const m = await api("GET", `/api/v1/cards/${encodeURIComponent(uid)}/moves`);
    let card = null;
    try { card = await api("GET", `/api/v1/cards/${encodeURIComponent(uid)}`); } catch (_) { /* no public view */ }
    current.card = m;
    $("card").hidden = false;
    $("card-uid").textContent = m.uid;
    $("card-status").textContent = m.status;
    $("card-holder").textContent = card && card.holder ? `${card.holder.name}, ${card.holder.unit}` : "no holder";
    $("card-deposit").textContent = !m.deposit ? "none"
      : m.deposit.refunded_at ? "refunded" : m.deposit.transferred_to ? `moved to ${m.deposit.transferred_to}`
      : `${m.deposit.amount_cents} cents, receipt ${m.deposit.receipt_no}`;
    for (const form of document.querySelectorAll("#card form[data-moves]")) {
      form.hidden = !form.dataset.moves.split(" ").some((mv) => m.allowed.includes(mv));
    }
    const first = document.querySelector("#card form:not([hidden]) input, #card form:not([hidden]) select");
    if (first) first.focus();
    if (!keepMessage) say(`Card ${m.uid} is ${m.status}.`);
  } catch (err) { fail(err); }
}

async function replaceCard(event) {
  event.preventDefault();
  const uid = current.card.uid;
  const kind = $("replace-kind").value;
  const fee = $("replace-fee").value;
  try {
    const r = await api("POST", `/api/v1/cards/${uid}/${kind}`, {
      reason: $("replace-reason").value, replacement_uid: $("replace-uid").value,
      fee_cents: fee ? Number(fee) : null, receipt_no: $("replace-receipt").value || null,
    });
    say(`Card ${uid} is ${r.to_status}; card ${r.replacement_uid} issued in its place.`);
    await pickCard(r.replacement_uid, true);
    await loadStock();
  } catch (err) { fail(err); }
}

async function returnCard(event) {
  event.preventDefault();
  const uid = current.card.uid;
  try {
    const r = await api("POST", `/api/v1/cards/${uid}/return`, {
      refund: $("return-refund").checked, receipt_no: $("return-receipt").value || null,
      reason: $("return-reason").value || null,
    });
    say(`Card ${uid} taken back${r.amount_cents ? `; refund ${-r.amount_cents} cents` : ""}.`);
    await pickCard(uid, true);
  } catch (err) { fail(err); }
}

async function scrapCard(event) {
  event.preventDefault();
  const uid = current.card.uid;
  try {
    await api("POST", `/api/v1/cards/${uid}/scrap`, { reason: $("scrap-reason").value });
    say(`Card ${uid} scrapped.`);
    await pickCard(uid, true);
    await loadStock();
  } catch (err) { fail(err); }
}

function showTypeFields() {
  const type = $("issue-type").value;
  for (const fs of document.querySelectorAll("#issue-form fieldset[data-for]")) {
    fs.hidden = fs.dataset.for === "deposit" ? !depositTypes.has(type) : fs.dataset.for !== type;
  }
}

async function issueCard(event) {
  event.preventDefault();
  const type = $("issue-type").value;
  const body = {
    uid: $("issue-uid").value, card_type: type,
    holder: { name: $("issue-name").value, unit: $("issue-unit").value || "-" },
    valid_until: endOfDay($("issue-until").value),
  };
  if ($("issue-person").value) body.person_id = Number($("issue-person").value);
  if (type === "tenant") {
    body.tenancy_end = $("issue-tenancy-end").value || null;
    body.police_registration_no = $("issue-police").value || null;
  }
  if (type === "domestic_helper" && $("issue-employer").value) body.employer_unit = $("issue-employer").value;
  if (type === "renovation_worker") {
    body.permit_no = $("issue-permit").value || null;
    body.permit_until = $("issue-permit-until").value || null;
  }
  if (depositTypes.has(type) && $("issue-deposit").value) {
    body.deposit = { amount_cents: Number($("issue-deposit").value), receipt_no: $("issue-receipt").value };
  }
  try {
    const r = await api("POST", "/api/v1/cards", body);
    say(`Card ${r.uid} issued: ${r.status}.`);
    $("issue-form").reset();
    showTypeFields();
    await loadStock();
    await pickCard(r.uid, true);
  } catch (err) {
    fail(err);
  }
}

async function loadStock() {
  try {
    const s = await api("GET", "/api/v1/stock/levels");
    const note = { low: " (below its minimum: reorder)", high: " (above its maximum)",
                   below_zero: " (below zero: record the delivery these cards came from)" };
    const parts = s.levels.map((l) => `${l.card_type.replace("_", " ")} ${l.in_stock}${note[l.state] || ""}`);
    $("stock-levels").textContent = parts.length ? parts.join(", ") : "nothing recorded";
  } catch (err) { fail(err); }
}

async function delivery(event) {
  event.preventDefault();
  try {
    await api("POST", "/api/v1/stock/deliveries", {
      card_type: $("delivery-type").value, qty: Number($("delivery-qty").value), ref: $("delivery-ref").value,
    });
    say("Delivery recorded.");
    $("delivery-form").reset();
    await loadStock();
  } catch (err) { fail(err); }
}

async function scrapBlanks(event) {
  event.preventDefault();
  try {
    await api("POST", "/api/v1/stock/scrap", {
      card_type: $("blank-scrap-type").value, qty: Number($("blank-scrap-qty").value),
      reason: $("blank-scrap-reason").value,
    });
    say("Scrapped blanks recorded.");
    $("blank-scrap-form").reset();
    await loadStock();
  } catch (err) { fail(err); }
}

$("search-form").addEventListener("submit", search);
$("photo-form").addEventListener("submit", uploadPhoto);
$("issue-for-person").addEventListener("click", issueForPerson);
$("replace-form").addEventListener("submit", replaceCard);
$("return-form").addEventListener("submit", returnCard);
$("scrap-form").addEventListener("submit", scrapCard);
$("issue-form").addEventListener("submit", issueCard);
$("issue-type").addEventListener("change", showTypeFields);
$("delivery-form").addEventListener("submit", delivery);
$("blank-scrap-form").addEventListener("submit", scrapBlanks);
$("person-h").tabIndex = -1;
document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
  if (e.key === "/" && !typing) { e.preventDefault(); $("q").focus(); $("q").select(); }
  if (e.key === "Escape") { $("q").focus(); $("q").select(); }
});
showTypeFields();
loadStock();
