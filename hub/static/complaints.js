// The complaint pages (hub/templates/complaints*.html): the service desk registers and
// forwards, a department works its queue, the supervisor and the manager follow what is due,
// late and escalated and the month's figures, the desk records follow-up visits.
// Everything goes through the complaints API (hub/complaints/API.md) with the session
// cookie; nothing is built from HTML strings (what people type never becomes markup). Every
// word comes through gh.t (the API's own msgids through /complaints/words), every time
// through gh.instant (the estate's timezone); contacts are shown only as the API gives them
// (masked in lists). A refused move is said inside its form, on the field the hub named.
"use strict";

const $ = (id) => document.getElementById(id);
const desk = $("complaint-desk");
const view = desk.dataset.view;
const role = desk.dataset.role;
const API = "/api/v1/complaints";

// -- talking to the hub, what the page says, its forms, the estate's clock: hub/static/forms.js ------

const { api, listOf, say, fact, Refusal, estateInstant } = gh;
const enc = encodeURIComponent;

// -- the API's own words: msgids of the hub's catalog, asked for in the reader's language ------

const known = {};
async function learn(msgids) {
  const missing = [...new Set(msgids.filter((m) => typeof m === "string" && m && !(m in known)))];
  for (let i = 0; i < missing.length; i += 300) {
    try {
      Object.assign(known, await api("POST", "/complaints/words", missing.slice(i, i + 300)));
    } catch (_) { /* the msgid itself (English) is shown */ }
  }
}
const word = (msgid) => (msgid in known ? known[msgid] : msgid);

let meta = null;
const names = {};  // list -> code -> msgid
async function loadMeta() {
  if (meta) return meta;
  meta = await api("GET", `${API}/meta`);
  const ids = [];
  for (const [list, items] of Object.entries(meta)) {
    if (!Array.isArray(items)) continue;
    names[list] = {};
    for (const item of items) {
      if (item && typeof item === "object" && "code" in item) {
        names[list][item.code] = item.name || item.code;
        ids.push(item.name);
      }
    }
  }
  await learn(ids);
  return meta;
}
// the name of a code of one of meta's lists, in the reader's language
const nameOf = (list, code) => (code === null || code === undefined || code === "" ? ""
  : word((names[list] || {})[code] || String(code)));

function fillSelect(select, list, { any = false, none = null } = {}) {
  const keep = select.value;
  const options = [];
  if (none !== null) options.push(Object.assign(document.createElement("option"), { value: "", textContent: none }));
  else if (any) options.push(Object.assign(document.createElement("option"), { value: "", textContent: gh.t("All") }));
  for (const item of (meta && meta[list]) || []) {
    options.push(Object.assign(document.createElement("option"), { value: item.code, textContent: word(item.name || item.code) }));
  }
  select.replaceChildren(...options);
  if (keep && [...select.options].some((o) => o.value === keep)) select.value = keep;
}

// the field a refusal is about when the hub names none: by its rule (hub/complaints/API.md)
const RULE_FIELD = {
  unknown_department: "department", invalid_needs_reason: "invalid_reason", unknown_unit: "units",
  close_needs_reason: "reason", next_visit_needs_date: "next_visit_on", extension_needs_manager: "reason",
};

// Enter submits from any of a form's fields (in a text box, Shift+Enter is a new line)
const { clearErrors, formError, move } = gh.forms({ ruleField: RULE_FIELD, enter: true });

const when = (iso) => (iso ? gh.instant(iso, false) : "");

// "2 d 3 h", "3 h 5 min", "12 min": a span of wall-clock time
function span(ms) {
  const minutes = Math.max(0, Math.round(ms / 60000));
  const days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
  if (days) return gh.t("{days} d {hours} h", { days, hours });
  if (hours) return gh.t("{hours} h {minutes} min", { hours, minutes: mins });
  return gh.t("{minutes} min", { minutes: mins });
}

// a pending deadline's time left, or how late it is
function leftOrLate(due, now) {
  const ms = new Date(due) - now;
  return ms < 0 ? { late: true, text: gh.t("late by {span}", { span: span(-ms) }) }
    : { late: false, text: gh.t("{span} left", { span: span(ms) }) };
}

const deadlineName = (key) => ({
  forward: gh.t("Forward to the department"), answer: gh.t("Clear answer (major)"), resolve: gh.t("Resolve"),
  tell: gh.t("Tell the complainant the result"), office_report: gh.t("Written report to the complaints office"),
  followup: gh.t("Follow-up visit"),
}[key] || key);
const PENDING = new Set(["open", "due_soon", "late"]);

const deadlineStateName = (state) => ({
  open: gh.t("still open"), due_soon: gh.t("due soon"), late: gh.t("late"), met: gh.t("met"), missed: gh.t("done late"),
}[state] || state);

const levelName = (level) => ({
  1: gh.t("shift leader"), 2: gh.t("supervisor"), 3: gh.t("manager"),
}[level] || "");

// -- small builders -----------------------------------------------------------------------------

function fill(listId, noneId, items) {
  $(listId).replaceChildren(...items);
  if ($(noneId)) $(noneId).hidden = items.length > 0;
  $(listId).dataset.drawn = "yes";  // (tests wait for the drawing)
}

const byNextDue = (a, b) => (a.next_due ? Date.parse(a.next_due) : Infinity) - (b.next_due ? Date.parse(b.next_due) : Infinity);

function pendingDeadlines(c) {
  return Object.entries(c.deadlines || {}).filter(([, d]) => d && PENDING.has(d.state))
    .sort((a, b) => Date.parse(a[1].due) - Date.parse(b[1].due));
}

// one complaint in a list: its number (a link to its page), what, where it stands, its dues
function complaintItem(c, now) {
  const li = document.createElement("li");
  li.dataset.id = c.id;
  li.dataset.no = c.no || "";
  li.dataset.state = c.state;
  const head = document.createElement("p");
  head.className = "who";
  const a = document.createElement("a");
  a.href = `/complaints/${enc(c.id)}`;
  a.className = "ref";
  a.textContent = c.no || String(c.id);
  head.append(a);
  const sev = fact(head, "severity", nameOf("severities", c.severity));
  if (sev && c.severity === "major") sev.classList.add("sev-major");
  fact(head, "state", nameOf("states", c.state));
  fact(head, "units", (c.units || []).join(", "));
  if (c.joint) fact(head, "joint", gh.t("joint complaint"));
  if (c.late) {
    li.classList.add("late");
    const flag = fact(head, "flag late", gh.t("LATE"));
    flag.dataset.late = "yes";
  } else if (c.due_soon) {
    li.classList.add("soon");
    fact(head, "soon-flag", gh.t("due soon"));
  }
  if (c.paused) fact(head, "paused", gh.t("paused: waiting on the complainant"));
  if (c.escalation && c.escalation.level > 0) {
    fact(head, "escalated", gh.t("escalated to the {who}", { who: levelName(c.escalation.level) }));
  }
  if (c.repeat_of) fact(head, "flag", gh.t("repeat complaint"));
  const more = document.createElement("p");
  more.className = "more";
  fact(more, "what", c.what);
  fact(more, "department", c.department ? gh.t("to {department}", { department: nameOf("departments", c.department) }) : "");
  fact(more, "phone", c.contact_phone);
  const times = document.createElement("p");
  times.className = "times";
  for (const [key, d] of pendingDeadlines(c).slice(0, 2)) {
    const lol = leftOrLate(d.due, now);
    const s = fact(times, lol.late || d.state === "late" ? "due flag late" : "due",
      gh.t("{what} by {time}: {left}", { what: deadlineName(key), time: when(d.due), left: lol.text }));
    s.dataset.deadline = key;
  }
  li.append(head, more, times);
  return li;
}

// -- the service desk: register, forward, what is due and late ---------------------------------

let unitAsked = 0;
async function checkUnit() {
  const box = $("c-units");
  const parts = box.value.split(/[,，;；\s]+/).map((x) => x.trim().toUpperCase()).filter(Boolean);
  const text = parts.length ? parts[parts.length - 1] : "";
  const line = $("c-units-check");
  const ask = ++unitAsked;
  if (!text) { line.textContent = ""; line.className = "hint check-line"; return; }
  let found;
  try {
    found = await api("GET", `/complaints/units?q=${enc(text)}`);
  } catch (_) { return; }  // the hub decides on registering anyway
  if (ask !== unitAsked) return;  // a newer keystroke has asked since
  const before = parts.slice(0, -1);
  $("unit-list").replaceChildren(...found.units.map((code) => Object.assign(document.createElement("option"),
    { value: [...before, code].join(", ") })));
  if (found.known) {
    line.textContent = parts.length > 1
      ? gh.t("{count} units; {code} is in the register.", { count: parts.length, code: found.q })
      : gh.t("Unit {code} is in the register.", { code: found.q });
    line.className = "hint check-line ok";
  } else if (found.units.length) {
    line.textContent = gh.t("Keep typing: {count} units begin with this.", { count: found.units.length });
    line.className = "hint check-line";
  } else {
    line.textContent = gh.t("No unit {code} in the register.", { code: found.q });
    line.className = "hint check-line bad";
  }
}

function registration(openedAt) {
  const text = (id) => $(id).value.trim();
  const units = [...new Set(text("c-units").split(/[,，;；\s]+/).map((x) => x.trim().toUpperCase()).filter(Boolean))];
  if (!units.length) throw new Refusal(gh.t("Fill this in first."), $("c-units"));
  const body = {
    channel: (document.querySelector("input[name=channel]:checked") || {}).value || "phone",
    severity: (document.querySelector("input[name=severity]:checked") || {}).value || "general",
    category: $("c-category").value,
    units,
    what: text("c-what"),
    reply_wanted: $("c-reply").checked,
    valid: !$("c-invalid").checked,
    form_opened_at: openedAt || new Date().toISOString(),
  };
  const optional = { where: "c-where", concerns: "c-concerns", asks: "c-asks", contact_name: "c-name",
    contact_phone: "c-phone", concerns_department: "c-concerns-dept", wanted_by: "c-wanted-by" };
  for (const [key, id] of Object.entries(optional)) if (text(id)) body[key] = text(id);
  if (body.contact_phone) body.contact_phone = body.contact_phone.replace(/[\s-]/g, "");
  if (body.contact_name) body.complainants = [{ unit: units[0], name: body.contact_name }];
  const happened = text("c-happened");
  if (happened) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(happened);
    if (!m) throw new Refusal(gh.t("Type a date and time."), $("c-happened"));
    const at = estateInstant(+m[1], +m[2], +m[3], +m[4], +m[5]);
    if (at > new Date()) throw new Refusal(gh.t("That time has not come yet."), $("c-happened"));
    body.happened_at = at.toISOString();
  }
  if (!body.valid) {
    if (!text("c-invalid-reason")) throw new Refusal(gh.t("Fill this in first."), $("c-invalid-reason"));
    body.invalid_reason = text("c-invalid-reason");
  }
  return body;
}

async function loadDue() {
  const now = new Date();
  const [late, soon] = await Promise.all([
    api("GET", `${API}?late=true&state=open&limit=200`), api("GET", `${API}?due=soon&state=open&limit=200`)]);
  fill("late-list", "late-none", listOf(late).sort(byNextDue).map((c) => complaintItem(c, now)));
  const lateIds = new Set(listOf(late).map((c) => c.id));
  fill("soon-list", "soon-none", listOf(soon).filter((c) => !lateIds.has(c.id)).sort(byNextDue)
    .map((c) => complaintItem(c, now)));
  return listOf(late);
}

async function loadOpen() {
  const now = new Date();
  const open = listOf(await api("GET", `${API}?state=open&limit=20`));
  fill("recent-list", "recent-none", open.map((c) => complaintItem(c, now)));
}

function deskView() {
  const form = $("register-form");
  let openedAt = null;
  let current = null;  // the complaint just registered
  form.addEventListener("input", (e) => {
    if (!openedAt) openedAt = new Date().toISOString();
    if (e.target.id === "c-units") checkUnit();
  });
  const showInvalid = () => {
    $("invalid-box").hidden = !$("c-invalid").checked;
    $("c-invalid-reason").required = $("c-invalid").checked;
  };
  $("c-invalid").addEventListener("change", showInvalid);

  move(form, async () => {
    const body = registration(openedAt);
    const c = await api("POST", API, body);
    current = c;
    form.reset();
    clearErrors(form);
    showInvalid();
    openedAt = null;
    $("c-units-check").textContent = "";
    $("c-category").selectedIndex = 0;
    showRegistered(c);
    say(gh.t("Complaint {no} registered.", { no: c.no }));
    refresh();
  });

  function showRegistered(c) {
    const link = $("registered-link");
    link.href = `/complaints/${enc(c.id)}`;
    link.textContent = c.no;
    $("registered").dataset.id = c.id;
    $("registered").dataset.no = c.no;
    const facts = [nameOf("severities", c.severity), (c.units || []).join(", ")];
    if (c.joint) facts.push(gh.t("joint complaint"));
    if (c.repeat_of) facts.push(gh.t("repeat complaint"));
    const next = pendingDeadlines(c)[0];
    if (next) facts.push(gh.t("{what} by {time}", { what: deadlineName(next[0]), time: when(next[1].due) }));
    $("registered-facts").textContent = facts.filter(Boolean).join(" · ");
    const fwd = $("forward-form");
    fwd.reset();
    clearErrors(fwd);
    fwd.hidden = !(c.state === "registered" && c.valid !== false);
    $("registered").hidden = false;
    if (!fwd.hidden) {
      if (c.concerns_department) $("f-department").value = c.concerns_department;
      $("f-department").focus();
    } else {
      $("registered-h").focus();
    }
  }

  move($("forward-form"), async () => {
    const body = { department: $("f-department").value, task: $("f-task").value.trim() };
    if ($("f-note").value.trim()) body.note = $("f-note").value.trim();
    const c = await api("POST", `${API}/${enc(current.id)}/forward`, body);
    current = c;
    $("forward-form").hidden = true;
    $("registered-facts").textContent = gh.t("Forwarded to {department}.", { department: nameOf("departments", c.department) });
    say(gh.t("Complaint {no} forwarded to {department}.", { no: c.no, department: nameOf("departments", c.department) }));
    $("next-complaint").focus();
    refresh();
  });

  $("next-complaint").addEventListener("click", () => {
    $("registered").hidden = true;
    current = null;
    $("c-units").focus();
  });

  async function refresh() {
    try { await Promise.all([loadDue(), loadOpen()]); } catch (err) { say(err.message, false); }
  }
  $("lists-refresh").addEventListener("click", refresh);

  loadMeta().then(() => {
    fillSelect($("c-category"), "categories");
    fillSelect($("c-concerns-dept"), "departments", { none: gh.t("None named") });
    fillSelect($("f-department"), "departments");
    form.dataset.ready = "yes";
  }).catch((err) => say(err.message, false)).finally(refresh);
  setInterval(refresh, 60000);
}

// -- the supervisor's: late, due soon, escalated -------------------------------------------------

function superviseView() {
  async function refresh() {
    try {
      await loadMeta();
      await loadDue();
      const now = new Date();
      const open = listOf(await api("GET", `${API}?state=open&limit=500`));
      fill("escalated-list", "escalated-none", open.filter((c) => c.escalation && c.escalation.level > 0)
        .sort((a, b) => b.escalation.level - a.escalation.level || byNextDue(a, b)).map((c) => complaintItem(c, now)));
    } catch (err) { say(err.message, false); }
  }
  $("lists-refresh").addEventListener("click", refresh);
  refresh();
  setInterval(refresh, 60000);
}

// -- a department's queue: sign the sheet, record the result ----------------------------------

let formsMade = 0;
function inlineForm(label, fieldName, multiline, submitText, run) {
  const n = ++formsMade;
  const f = document.createElement("form");
  f.className = "inline-move";
  f.noValidate = true;
  const input = document.createElement(multiline ? "textarea" : "input");
  input.id = `inline-${n}`;
  input.maxLength = multiline ? 4000 : 1000;
  input.dataset.field = fieldName;
  if (multiline) { input.rows = 2; input.required = true; }
  const l = document.createElement("label");
  l.htmlFor = input.id;
  l.textContent = label;
  const submit = Object.assign(document.createElement("button"), { type: "submit", textContent: submitText });
  const error = Object.assign(document.createElement("p"), { className: "form-error", id: `inline-${n}-error` });
  error.setAttribute("aria-live", "assertive");
  f.append(l, input, submit, error);
  move(f, () => run(input.value.trim()));
  return f;
}

function queueView() {
  const filter = $("q-department");
  async function refresh() {
    try {
      await loadMeta();
      const dep = filter && filter.value ? `&department=${enc(filter.value)}` : "";
      const open = listOf(await api("GET", `${API}?state=open&limit=500${dep}`))
        .filter((c) => ["forwarded", "in_progress"].includes(c.state) || c.department);
      const now = new Date();
      $("queue-error").textContent = "";
      fill("queue-list", "queue-none", open.sort(byNextDue).map((c) => {
        const li = complaintItem(c, now);
        if (c.sheet && c.sheet.task) {
          const p = document.createElement("p");
          p.className = "more";
          fact(p, "task", gh.t("Asked: {task}", { task: c.sheet.task }));
          li.append(p);
        }
        const done = (text) => { say(text); refresh(); };
        if (c.state === "forwarded" && !c.paused) {
          li.append(inlineForm(gh.t("Note (optional)"), "note", false, gh.t("Sign the coordination sheet"), async (note) => {
            const x = await api("POST", `${API}/${enc(c.id)}/sign`, note ? { note } : {});
            done(gh.t("Complaint {no}: the sheet is signed.", { no: x.no }));
          }));
        } else if (c.state === "in_progress" && !c.paused) {
          li.append(inlineForm(gh.t("What was done"), "result", true, gh.t("Record the result"), async (result) => {
            const x = await api("POST", `${API}/${enc(c.id)}/resolve`, { result });
            done(gh.t("Complaint {no}: the result is recorded.", { no: x.no }));
          }));
        }
        return li;
      }));
    } catch (err) {
      $("queue-error").textContent = err.message;
      $("queue-list").dataset.drawn = "yes";
    }
  }
  if (filter) {
    loadMeta().then(() => fillSelect(filter, "departments", { any: true })).catch(() => {});
    filter.addEventListener("change", refresh);
  }
  $("queue-refresh").addEventListener("click", refresh);
  refresh();
  setInterval(refresh, 60000);
}

// -- one complaint: facts, deadlines, steps and the moves left --------------------------------

const STEP_NAMES = () => ({
  register: gh.t("Registered"), registered: gh.t("Registered"), forward: gh.t("Forwarded"), sign: gh.t("Sheet signed"),
  answer: gh.t("Clear answer given"), validity: gh.t("Validity decided"), pause: gh.t("Paused"), resume: gh.t("Clock resumed"),
  extend: gh.t("Deadline extended"), resolve: gh.t("Resolved"), tell: gh.t("Result told"),
  accept: gh.t("Acceptance recorded"), close: gh.t("Closed"), "office-report": gh.t("Reported to the complaints office"),
  office_report: gh.t("Reported to the complaints office"), escalate: gh.t("Escalated"), escalated: gh.t("Escalated"),
  followup: gh.t("Follow-up visit"), reopen: gh.t("Reopened"), read_personal: gh.t("Personal data read"),
  repeat: gh.t("Repeat complaint found"), followup_due: gh.t("Follow-up visit due"),
});

// what a step's detail says, in words: codes named, times the estate's, free text as typed
function stepDetail(s) {
  const d = s.detail && typeof s.detail === "object" ? s.detail : {};
  const ROLE_LEVEL = { shift_leader: 1, supervisor: 2, manager: 3 };
  const out = [];
  if (d.severity) out.push(nameOf("severities", d.severity));
  if (d.channel) out.push(nameOf("channels", d.channel));
  if (d.department) out.push(nameOf("departments", d.department));
  if (d.to && ROLE_LEVEL[d.to]) out.push(gh.t("escalated to the {who}", { who: levelName(ROLE_LEVEL[d.to]) }));
  if (d.how) out.push(d.how === "signature" ? gh.t("Signature") : d.how === "recorded" ? gh.t("Recorded acceptance")
    : nameOf("channels", d.how));
  if (d.accepted === true || d.accepted === false) out.push(d.accepted ? gh.t("Accepted") : gh.t("Not accepted"));
  if (d.valid === false) out.push(gh.t("Not a valid complaint"));
  if (d.days) out.push(gh.t("{days} working days", { days: d.days }));
  if (d.due) out.push(gh.t("due {time}", { time: when(d.due) }));
  for (const key of ["reason", "reference"]) if (typeof d[key] === "string" && d[key]) out.push(d[key]);
  return out;
}

function dl(parent, pairs) {
  const items = [];
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    items.push(dt, dd);
  }
  parent.replaceChildren(...items);
}

const yesNo = (v) => (v === true ? gh.t("yes") : v === false ? gh.t("no") : "");
const OVERSEE = new Set(["supervisor", "manager", "admin"]);

function showMoves(c) {
  const dept = role === "department";
  const active = ["registered", "forwarded", "in_progress"].includes(c.state);
  const show = {
    forward: !dept && c.state === "registered" && c.valid !== false && !c.paused,
    validity: !dept && c.state === "registered" && c.valid !== false,
    answer: !dept && c.severity === "major" && active && !c.answered_at,
    sign: (dept || OVERSEE.has(role)) && c.state === "forwarded" && !c.paused,
    resolve: (dept || OVERSEE.has(role)) && c.state === "in_progress" && !c.paused,
    tell: !dept && c.state === "resolved",
    accept: !dept && c.state === "told" && (c.accepted === null || c.accepted === undefined),
    close: !dept && ((c.state === "told" && c.accepted !== null && c.accepted !== undefined)
      || (c.state === "registered" && c.valid === false)),
    "office-report": !dept && c.joint && !(c.office_report && c.office_report.at),
    pause: active && !c.paused,
    resume: !!c.paused,
    extend: ["manager", "admin"].includes(role) && active,
  };
  let any = false;
  for (const form of document.querySelectorAll("form.move")) {
    form.hidden = !show[form.dataset.move];
    any = any || !form.hidden;
  }
  $("moves-none").hidden = any;
}

function drawComplaint(c, steps) {
  const now = new Date();
  $("c-no").textContent = c.no || "";
  desk.dataset.state = c.state;
  const state = [nameOf("states", c.state)];
  if (c.paused) state.push(gh.t("paused: waiting on the complainant"));
  if (c.late) state.push(gh.t("LATE"));
  if (c.escalation && c.escalation.level > 0) state.push(gh.t("escalated to the {who}", { who: levelName(c.escalation.level) }));
  $("c-state").textContent = state.filter(Boolean).join(" · ");
  $("c-state").className = c.late ? "state flag late" : "state";
  const sheet = c.sheet || {};
  dl($("facts"), [
    [gh.t("Number"), c.no],
    [gh.t("Severity"), nameOf("severities", c.severity)],
    [gh.t("Received by"), nameOf("channels", c.channel)],
    [gh.t("Category"), nameOf("categories", c.category)],
    [gh.t("Units"), (c.units || []).join(", ")],
    [gh.t("Joint complaint"), c.joint ? gh.t("yes: three or more households") : ""],
    [gh.t("Complainants"), (c.complainants || []).map((p) => [p.unit, p.name].filter(Boolean).join(" ")).join("; ")],
    [gh.t("Contact"), [c.contact_name, c.contact_phone].filter(Boolean).join(" ")],
    [gh.t("Wants a reply"), yesNo(c.reply_wanted)],
    [gh.t("What the complainant reports"), c.what],
    [gh.t("Where"), c.where],
    [gh.t("When it happened"), when(c.happened_at)],
    [gh.t("Person complained about"), c.concerns],
    [gh.t("Department complained about"), nameOf("departments", c.concerns_department)],
    [gh.t("What the complainant asks for"), c.asks],
    [gh.t("Complainant's own date"), c.wanted_by],
    [gh.t("Valid"), c.valid === false ? gh.t("no: {reason}", { reason: c.invalid_reason || "" }) : yesNo(c.valid)],
    [gh.t("Repeat of"), c.repeat_of ? String(c.repeat_of) : ""],
    [gh.t("Registered"), [when(c.registered_at), c.registered_by].filter(Boolean).join(" · ")],
    [gh.t("Sent to"), nameOf("departments", c.department)],
    [gh.t("Coordination sheet"), sheet.task ? [sheet.task, sheet.sent_at ? gh.t("sent {time} by {who}", { time: when(sheet.sent_at), who: sheet.sent_by || "" }) : "",
      sheet.signed_at ? gh.t("signed {time} by {who}", { time: when(sheet.signed_at), who: sheet.signed_by || "" }) : gh.t("not signed yet")]
      .filter(Boolean).join(" · ") : ""],
    [gh.t("Clear answer"), c.answer ? `${c.answer} (${when(c.answered_at)})` : ""],
    [gh.t("Result"), c.result ? `${c.result} (${when(c.resolved_at)})` : ""],
    [gh.t("Told"), c.told_at ? `${when(c.told_at)} · ${nameOf("tell_ways", c.told_how) || nameOf("channels", c.told_how)}` : ""],
    [gh.t("Accepted"), c.accepted === null || c.accepted === undefined ? "" : yesNo(c.accepted)],
    [gh.t("Closed"), when(c.closed_at)],
    [gh.t("Extensions"), (c.extensions || []).map((e) => gh.t("{days} working days: {reason} ({who})", { days: e.days, reason: e.reason, who: e.by })).join("; ")],
    [gh.t("Reopened"), c.reopened ? String(c.reopened) : ""],
  ]);
  const lis = [];
  for (const [key, d] of Object.entries(c.deadlines || {})) {
    if (!d) continue;
    const li = document.createElement("li");
    li.dataset.deadline = key;
    li.dataset.state = d.state;
    fact(li, "what", deadlineName(key));
    fact(li, "due", gh.t("due {time}", { time: when(d.due) }));
    if (PENDING.has(d.state)) {
      const lol = leftOrLate(d.due, now);
      if (lol.late || d.state === "late") li.classList.add("late");
      const s = fact(li, lol.late || d.state === "late" ? "left flag late" : "left", lol.text);
      if (d.state === "late" && !lol.late) s.textContent = gh.t("late");
    } else {
      li.classList.add(d.state === "met" ? "met" : "late");
      fact(li, "left", gh.t("{state} {time}", { state: deadlineStateName(d.state), time: when(d.done_at) }));
    }
    lis.push(li);
  }
  $("deadlines").replaceChildren(...lis);
  const named = STEP_NAMES();
  $("steps").replaceChildren(...(steps || []).map((s) => {
    const li = document.createElement("li");
    li.dataset.action = s.action;
    const bits = [when(s.at), named[s.action] || s.action, s.who];
    li.textContent = [...bits, ...stepDetail(s)].filter(Boolean).join(" · ");
    return li;
  }));
  showMoves(c);
  desk.dataset.drawn = "yes";
}

function complaintView() {
  const id = desk.dataset.complaint;
  const path = `${API}/${enc(id)}`;
  let current = null;
  async function load() {
    const [c, steps] = await Promise.all([api("GET", path), api("GET", `${path}/steps`).catch(() => [])]);
    current = c;
    drawComplaint(c, listOf(steps));
  }
  const bodies = {
    forward: () => ({ department: $("mf-department").value, task: $("mf-task").value.trim(),
      ...($("mf-note").value.trim() ? { note: $("mf-note").value.trim() } : {}) }),
    sign: () => ($("ms-note").value.trim() ? { note: $("ms-note").value.trim() } : {}),
    answer: () => ({ answer: $("ma-answer").value.trim() }),
    resolve: () => ({ result: $("mr-result").value.trim() }),
    tell: () => ({ how: $("mt-how").value, ...($("mt-note").value.trim() ? { note: $("mt-note").value.trim() } : {}) }),
    accept: () => ({ accepted: document.querySelector("input[name=accepted]:checked").value === "yes",
      how: document.querySelector("input[name=acceptance-how]:checked").value,
      ...($("mac-note").value.trim() ? { note: $("mac-note").value.trim() } : {}) }),
    close: () => ($("mc-reason").value.trim() ? { reason: $("mc-reason").value.trim() } : {}),
    "office-report": () => ({ reference: $("mo-reference").value.trim(),
      ...($("mo-note").value.trim() ? { note: $("mo-note").value.trim() } : {}) }),
    validity: () => ({ valid: false, invalid_reason: $("mv-reason").value.trim() }),
    pause: () => ({ reason: $("mp-reason").value.trim() }),
    resume: () => ({}),
    extend: () => {
      const n = Number($("me-days").value);
      if (!Number.isInteger(n) || n < 1 || n > 60) throw new Refusal(gh.t("Type a whole number from {min} to {max}.", { min: 1, max: 60 }), $("me-days"));
      return { days: n, reason: $("me-reason").value.trim() };
    },
  };
  for (const form of document.querySelectorAll("form.move")) {
    const name = form.dataset.move;
    move(form, async () => {
      const c = await api("POST", `${path}/${name}`, bodies[name]());
      form.reset();
      current = c;
      const steps = await api("GET", `${path}/steps`).catch(() => []);
      drawComplaint(c, listOf(steps));
      say(gh.t("Complaint {no}: done.", { no: c.no }));
      const next = document.querySelector("form.move:not([hidden]) input, form.move:not([hidden]) select, form.move:not([hidden]) textarea, form.move:not([hidden]) button");
      if (next) next.focus();
    });
  }
  loadMeta().then(() => fillSelect($("mf-department"), "departments")).catch(() => {}).finally(() => {
    load().catch((err) => { say(err.message, false); desk.dataset.drawn = "error"; });
  });
}

// -- the month: figures with their formulas, counts, the year, files and filing ----------------

function cell(tr, text, cls, header = false) {
  const c = document.createElement(header ? "th" : "td");
  if (header) c.scope = "row";
  c.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) c.className = cls;
  tr.append(c);
  return c;
}

const figureValue = (f) => (f.value === null || f.value === undefined ? "—"
  : `${f.value}${f.unit === "%" ? "%" : f.unit ? " " + word(f.unit) : ""}`);

async function monthView() {
  const month = desk.dataset.report;
  $("print").addEventListener("click", () => window.print());
  let report;
  try {
    await loadMeta().catch(() => {});
    report = await api("GET", `${API}/report/${enc(month)}`);
    const ids = [];
    for (const f of [...(report.figures || []), ...((report.year || {}).figures || []), ...((report.year || {}).targets || [])]) {
      ids.push(f.name, f.formula, f.unit);
    }
    await learn(ids);
  } catch (err) {
    $("report-error").textContent = err.message;
    desk.dataset.drawn = "error";
    return;
  }
  const status = $("report-status");
  if (report.filed) {
    status.textContent = gh.t("Filed on {time} by {who}: the figures are frozen.", { time: when(report.filed_at), who: report.filed_by || "" });
    status.dataset.filed = "yes";
  } else {
    status.textContent = gh.t("Not filed yet: the figures change as complaints move.");
    status.dataset.filed = "no";
  }
  if (report.households) {
    status.textContent += " " + gh.t("Households: {n}.", { n: report.households });
  }
  $("figures").tBodies[0].replaceChildren(...(report.figures || []).map((f) => {
    const tr = document.createElement("tr");
    tr.dataset.key = f.key;
    cell(tr, word(f.name), "", true);
    cell(tr, word(f.formula), "formula");
    cell(tr, f.denominator === undefined ? "" : gh.t("{n} / {d}", { n: f.numerator, d: f.denominator }), "n count");
    const v = cell(tr, figureValue(f), "n value");
    v.dataset.value = f.value === null || f.value === undefined ? "" : String(f.value);
    return tr;
  }));
  const counts = report.counts || {};
  const countRows = (tableId, list, data) => {
    $(tableId).tBodies[0].replaceChildren(...Object.entries(data || {}).map(([code, n]) => {
      const tr = document.createElement("tr");
      tr.dataset.code = code;
      cell(tr, ["", "null", "none"].includes(code) ? gh.t("Not sent to a department yet") : nameOf(list, code) || code, "", true);
      const v = cell(tr, n, "n");
      v.dataset.value = String(n);
      return tr;
    }));
  };
  countRows("by-severity", "severities", counts.by_severity);
  countRows("by-department", "departments", counts.by_department);
  countRows("by-channel", "channels", counts.by_channel);
  const year = report.year || {};
  $("year-span").textContent = year.from ? gh.t("({from} to {to})", { from: year.from, to: year.to }) : "";
  $("year").tBodies[0].replaceChildren(...(year.targets || []).map((t) => {
    const tr = document.createElement("tr");
    tr.dataset.key = t.key;
    cell(tr, word(t.name), "", true);
    cell(tr, t.target, "n");
    const v = cell(tr, t.value === null || t.value === undefined ? "—" : String(t.value), "n value");
    v.dataset.value = t.value === null || t.value === undefined ? "" : String(t.value);
    cell(tr, t.met === true ? gh.t("target met") : t.met === false ? gh.t("target missed") : "—", t.met === false ? "below" : t.met ? "meets" : "");
    return tr;
  }));
  const form = $("file-form");
  if (form) {
    form.hidden = !!report.filed;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = $("file-submit");
      if (button.disabled) return;
      button.disabled = true;
      $("file-error").textContent = "";
      try {
        await api("POST", `${API}/report/${enc(month)}/file`, {});
        window.location.reload();
      } catch (err) {
        $("file-error").textContent = err.message;
        if (err.rule) $("file-error").dataset.rule = err.rule;
        button.focus();
      } finally {
        button.disabled = false;
      }
    });
  }
  desk.dataset.drawn = "yes";
}

// -- follow-up visits ---------------------------------------------------------------------------

function followupsView() {
  let current = null;
  const showThen = () => {
    const dissatisfied = $("sat-no").checked;
    $("then-box").hidden = !dissatisfied;
    const next = dissatisfied && $("then-next").checked;
    $("next-box").hidden = !next;
    $("fu-next").required = next;
  };
  for (const el of document.querySelectorAll("input[name=satisfied], input[name=then]")) el.addEventListener("change", showThen);

  function open(f) {
    current = f;
    const form = $("visit-form");
    form.reset();
    clearErrors(form);
    showThen();
    $("visit-no").textContent = f.complaint_no || "";
    $("visit-panel").hidden = false;
    $("visit-panel").dataset.id = f.id;
    $("fu-quality").focus();
  }

  async function refresh() {
    try {
      await loadMeta();
      const now = new Date();
      const due = listOf(await api("GET", `${API}/followups?state=open&limit=200`))
        .sort((a, b) => Date.parse(a.due) - Date.parse(b.due));
      $("visits-error").textContent = "";
      fill("visits-list", "visits-none", due.map((f) => {
        const li = document.createElement("li");
        li.dataset.id = f.id;
        li.dataset.complaint = f.complaint_id;
        const head = document.createElement("p");
        const a = Object.assign(document.createElement("a"), { href: `/complaints/${enc(f.complaint_id)}`, className: "ref",
          textContent: f.complaint_no || String(f.complaint_id) });
        head.append(a);
        fact(head, "severity", nameOf("severities", f.severity));
        fact(head, "units", (f.units || []).join(", "));
        const lol = leftOrLate(f.due, now);
        if (f.late || lol.late) {
          li.classList.add("late");
          fact(head, "flag late", gh.t("LATE"));
        }
        const times = document.createElement("p");
        times.className = "times";
        fact(times, "due", gh.t("visit by {time}: {left}", { time: when(f.due), left: lol.text }));
        const buttons = document.createElement("p");
        buttons.className = "buttons";
        const b = Object.assign(document.createElement("button"), { type: "button", className: "record",
          textContent: gh.t("Record the visit") });
        b.addEventListener("click", () => open(f));
        buttons.append(b);
        li.append(head, times, buttons);
        return li;
      }));
    } catch (err) {
      $("visits-error").textContent = err.message;
      $("visits-list").dataset.drawn = "yes";
    }
  }

  move($("visit-form"), async () => {
    const body = {};
    for (const key of ["quality", "effect", "satisfaction", "shortcomings", "suggestions"]) body[key] = $(`fu-${key}`).value.trim();
    body.score = Number(document.querySelector("input[name=score]:checked").value);
    body.satisfied = $("sat-yes").checked;
    body.then = null;
    if (!body.satisfied) {
      body.then = document.querySelector("input[name=then]:checked").value;
      if (body.then === "next_visit") body.next_visit_on = $("fu-next").value;
    }
    const done = await api("POST", `${API}/followups/${enc(current.id)}`, body);
    $("visit-panel").hidden = true;
    say(gh.t("Follow-up of {no} recorded.", { no: done.complaint_no || current.complaint_no || "" }));
    current = null;
    await refresh();
    const first = document.querySelector("#visits-list button.record");
    (first || $("visits-h")).focus();
  });
  $("visits-refresh").addEventListener("click", refresh);
  refresh();
}

({ desk: deskView, supervise: superviseView, queue: queueView, complaint: complaintView, month: monthView,
  followups: followupsView }[view] || (() => {}))();
window.complaints = { estateInstant, span, leftOrLate };
