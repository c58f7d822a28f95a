// The guard's live page: passes as they happen (server-sent events) and remote-open buttons.
// Builds the DOM with textContent only: nothing from the wire is ever parsed as HTML. Every
// word it shows is the reader's language (gh.t, hub/static/i18n.js) and every time the
// estate's (gh.instant: 24-hour, the estate's timezone, one formatter for the page).
"use strict";
(function () {
  const MAX_ROWS = 200;
  // a new page shows this many passes before anything else; it marks the moment they are drawn
  // ("rows-drawn", Performance API) so the time from navigation to a usable page can be measured
  const FIRST_ROWS = 20;
  const tbody = document.getElementById("passes");
  const state = document.getElementById("stream-state");
  const latest = document.getElementById("latest");
  const gatesBox = document.getElementById("gates");
  const openResult = document.getElementById("open-result");
  const seen = new Set();
  const t = gh.t;
  // What a pass's machine words (decision, reason, kind: protocols.cards, protocols.messages)
  // read as to the guard: the one table of them. A word the table lacks (a newer gate's reason)
  // is shown as it came, its underscores as spaces.
  const WORDS = {
    decision: { granted: t("granted"), denied: t("denied") },
    reason: {
      valid_card: t("valid card"), remote_open: t("opened remotely"), exit_button: t("exit button"),
      unknown_card: t("unknown card"), card_suspended: t("card suspended"), card_lost: t("card reported lost"),
      card_revoked: t("card revoked"), card_returned: t("card returned"), card_scrapped: t("card scrapped"),
      card_expired: t("card expired"), card_not_issued: t("card not issued"), not_yet_valid: t("not yet valid"),
      validity_ended: t("validity ended"), door_not_allowed: t("not allowed at this door"),
      outside_schedule: t("outside allowed hours"), holiday: t("not allowed on holidays"),
      anti_passback: t("anti-passback"), command_rejected: t("command refused by the gate"),
      // a visitor's QR pass (protocols.cards: VALID_PASS, PASS_*)
      valid_pass: t("valid visitor pass"), pass_unreadable: t("pass unreadable"),
      pass_unknown_key: t("pass signed with an unknown key"), pass_tampered: t("pass tampered with"),
      pass_foreign_estate: t("pass of another estate"), pass_wrong_gate: t("pass not valid at this gate"),
      pass_not_yet_valid: t("pass not yet valid"), pass_expired: t("pass expired"),
      pass_used_up: t("pass used up"), pass_revoked: t("pass revoked"),
      // a renovation worker's card stopped by its permit (protocols.cards: PERMIT_*)
      permit_suspended: t("renovation permit suspended (work stopped)"), permit_ended: t("renovation permit ended"),
      // a release slip's QR (protocols.cards: VALID_SLIP, SLIP_*)
      valid_slip: t("valid release slip"), slip_used: t("release slip already used"),
      slip_wrong_date: t("release slip not valid on this date"),
      slip_wrong_direction: t("release slip is for going out only"),
    },
    kind: {
      pass: t("card pass"), remote_open: t("remote open"), exit_button: t("exit button"),
      door_forced: t("door forced open"), door_held: t("door held open"), door_closed: t("door closed"),
      device: t("device"), presented: t("card presented"), visit: t("visitor pass"),
      open_result: t("door after a remote open"),
    },
    // the reasons for a remote open the page offers (sent as these words; typed ones as typed)
    openReason: {
      "visitor at the gate": t("visitor at the gate"), "delivery": t("delivery"),
      "resident without card": t("resident without a card"), "emergency vehicle": t("emergency vehicle"),
    },
  };
  function word(group, value) {
    if (value == null || value === "") return "";
    return Object.prototype.hasOwnProperty.call(WORDS[group], value) ? WORDS[group][value]
      : String(value).replace(/_/g, " ");
  }
  let pending = [];
  let flushing = false;
  let drawn = 0;
  // the rows a new page starts with (the backlog the page comes with, and what the stream
  // catches up on as it opens) are drawn without the yellow flash: it marks passes that
  // happen while the guard watches, and twenty rows flashing together repainted the whole
  // table every frame for 1.5 s
  const BACKLOG_MS = 1000;
  let calmUntil = performance.now() + BACKLOG_MS;
  let opened = false;

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text == null ? "" : String(text);
    tr.appendChild(td);
    return td;
  }

  // the estate's time, 24-hour (gh.instant makes its one formatter the first time: that cost,
  // 17 to 67 ms in a new renderer, is paid once per page)
  function timeOf(iso) {
    return gh.instant(iso);
  }

  // The stream gives each pass its holder's photo URL (or none: then nothing is asked). The
  // URL names the photo's content, so a photo this browser was shown before is drawn from
  // its cache (hub.web.live says why that is acceptable); one replaced meanwhile is a 404,
  // and the cell shows the placeholder.
  function photoOf(url, name) {
    const img = document.createElement("img");
    img.alt = t("Photo of {name}", { name: name });
    img.width = 48;
    img.height = 48;
    img.decoding = "async";
    img.addEventListener("error", function () { img.remove(); });
    img.src = url;
    return img;
  }

  // Photos are asked for when their row comes into view: a photo not yet cached is a request,
  // and on a new page they were most of the wait for the rows in view. Until then (and for
  // good when there is none) the cell is the placeholder. Rows drawn in view ask at once (see
  // flush); the others when scrolled to.
  const FOLD_MARGIN = 120;
  const photoWatch = "IntersectionObserver" in window
    ? new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) { if (entry.isIntersecting) showPhoto(entry.target); });
    }, { rootMargin: "0px 0px " + FOLD_MARGIN + "px 0px" })
    : null;

  function showPhoto(td) {
    if (photoWatch) photoWatch.unobserve(td);
    td.appendChild(photoOf(td.dataset.src, td.dataset.name));
    td.dataset.photo = "asked";
  }

  function wantPhoto(td, ev) {
    td.dataset.src = ev.photo;
    td.dataset.name = ev.holder.name;
    td.dataset.photo = "wanted";
  }

  // After a batch is in the table: one layout to see which new rows are in view (all reads
  // first, then the writes, so it is one layout, not one per row), and those ask for their
  // photos now instead of a frame later; the rest wait to be scrolled to.
  function askPhotos(cells) {
    if (!photoWatch) { cells.forEach(showPhoto); return; }
    const fold = window.innerHeight + FOLD_MARGIN;
    const inView = cells.map(function (td) { return td.getBoundingClientRect().top < fold; });
    cells.forEach(function (td, i) { if (inView[i]) showPhoto(td); else photoWatch.observe(td); });
  }

  function rowOf(ev, fresh) {
    const tr = document.createElement("tr");
    tr.className = (ev.decision || ev.kind) + (fresh ? " fresh" : "");
    tr.dataset.eventId = ev.event_id;
    tr.dataset.seq = ev.seq;
    tr.dataset.kind = ev.kind;
    const photo = cell(tr, "", "photo");
    // only a card in the register can have a photo; an unknown card's row shows the placeholder
    if (ev.photo && ev.holder) wantPhoto(photo, ev);
    const when = cell(tr, timeOf(ev.at), "time");
    when.title = ev.at;
    cell(tr, ev.gate_id, "gate");
    cell(tr, ev.door_id, "door");
    cell(tr, ev.decision ? word("decision", ev.decision) : word("kind", ev.kind), "decision");
    cell(tr, reasonOf(ev), "reason");
    cell(tr, whoOf(ev), "holder");
    cell(tr, ev.holder ? ev.holder.unit : (ev.visitor ? ev.visitor.host_unit : ""), "unit");
    if (ev.remote) tr.dataset.nonce = ev.remote.nonce;
    return tr;
  }

  // the holder; a visitor by name; for a remote open, who opened it and why (the hub joins
  // the name and the command it kept: hub.web.live)
  function whoOf(ev) {
    if (ev.holder) return ev.holder.name;
    if (ev.visitor) return t("Visitor {name}", { name: ev.visitor.name });
    if (ev.opened_by) {
      const why = ev.remote && ev.remote.reason;
      return why ? t("Opened by {name}: {reason}", { name: ev.opened_by, reason: openReason(why) })
        : t("Opened by {name}", { name: ev.opened_by });
    }
    return ev.uid ? t("Unknown card {uid}", { uid: ev.uid }) : "";
  }

  function openReason(text) {
    return Object.prototype.hasOwnProperty.call(WORDS.openReason, text) ? WORDS.openReason[text] : text;
  }

  // a remote open's row says what the gate answered and what the door did; other rows their reason
  function reasonOf(ev) {
    if (!ev.remote) return word("reason", ev.reason);
    const r = ev.remote;
    let ack = t("not acknowledged by the gate yet");
    if (r.ack_decision === "granted") ack = t("acknowledged by the gate");
    else if (r.ack_decision === "denied") ack = r.ack_why ? t("refused by the gate: {why}", { why: r.ack_why })
      : t("refused by the gate");
    const door = r.opened === "yes" ? t("door opened") : r.opened === "no" ? t("door did not open") : "";
    return ev.kind === "open_result" ? door : [ack, door].filter(Boolean).join("; ");
  }

  // a door's result arrives after the remote open's row: that row says it too
  function refreshRemote(ev) {
    if (!ev.remote) return;
    Array.prototype.forEach.call(tbody.querySelectorAll("tr[data-nonce]"), function (tr) {
      if (tr.dataset.nonce !== ev.remote.nonce || tr.dataset.seq === String(ev.seq)) return;
      const td = tr.querySelector("td.reason");
      if (td && tr.dataset.kind === "remote_open") td.textContent = reasonOf({ kind: "remote_open", remote: ev.remote });
    });
  }

  // One announcement per batch, and only for passes that happen while the guard watches:
  // the rows a page starts with are on the screen, not read out.
  function announce(batch) {
    const ev = batch[batch.length - 1];
    const what = [ev.decision ? word("decision", ev.decision) : word("kind", ev.kind), whoOf(ev),
      ev.gate_id, ev.door_id].filter(Boolean).join(" ");
    latest.textContent = batch.length === 1 ? what : t("{count} new passes; the latest: {pass}",
      { count: batch.length, pass: what });
  }

  // Passes arrive one message at a time, a burst of them in one piece of the stream (the
  // first rows of a new page); they are drawn together after it: one insertion, one style
  // and layout pass, not one per row.
  function addPass(ev) {
    if (seen.has(ev.seq)) return;
    seen.add(ev.seq);
    pending.push(ev);
    if (flushing) return;
    flushing = true;
    setTimeout(flush, 0);
  }

  function flush() {
    flushing = false;
    if (!pending.length) return;  // drawn already (the page's own backlog is drawn at once)
    const batch = pending.length > MAX_ROWS ? pending.slice(-MAX_ROWS) : pending;
    pending = [];
    const fresh = performance.now() > calmUntil;
    const rows = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i--) rows.appendChild(rowOf(batch[i], fresh));  // newest on top
    const cells = Array.prototype.filter.call(rows.querySelectorAll("td.photo"), function (td) {
      return td.dataset.photo === "wanted";
    });
    tbody.insertBefore(rows, tbody.firstChild);
    batch.forEach(function (ev) { if (ev.kind === "open_result") refreshRemote(ev); });
    let extra = tbody.rows.length - MAX_ROWS;
    while (extra-- > 0) {
      const gone = tbody.lastChild;
      seen.delete(Number(gone.dataset.seq));
      if (photoWatch) photoWatch.unobserve(gone.firstChild);
      tbody.removeChild(gone);
    }
    askPhotos(cells);
    if (fresh) announce(batch);
    if (drawn < FIRST_ROWS) {
      drawn += batch.length;
      if (drawn >= FIRST_ROWS) afterPaint(function () { performance.mark("rows-drawn"); });
      firstRows();
    }
  }

  function afterPaint(fn) {
    requestAnimationFrame(function () { setTimeout(fn, 0); });
  }

  // The page comes with the passes a new stream would start with (hub.web.live): drawn at
  // once, without waiting for the stream, which is then asked only for what came after them
  // (and, after a break, resumes by Last-Event-ID as before).
  function backlog() {
    const block = document.getElementById("backlog");
    let rows = [];
    try { rows = JSON.parse(block.textContent); } catch (e) { console.error("bad backlog", e); }
    rows.forEach(addPass);
    flush();  // now, not a task later: the first frame the page paints has its rows
    return block.dataset.after;
  }

  function connect(after) {
    // the events stream, with photo URLs
    const source = new EventSource("/live/stream" + (after ? "?after=" + encodeURIComponent(after) : ""));
    source.addEventListener("open", function () {
      state.textContent = t("live");
      state.className = "state live";
      if (!opened) calmUntil = Math.max(calmUntil, performance.now() + BACKLOG_MS);
      opened = true;
    });
    source.addEventListener("error", function () { state.textContent = t("reconnecting…"); state.className = "state"; });
    source.addEventListener("gate-event", function (msg) {
      let ev;
      try { ev = JSON.parse(msg.data); } catch (e) { console.error("bad event", e); return; }
      addPass(ev);
    });
  }

  // A remote open says why: the button asks (a common reason picked, or one typed), and the
  // reason goes with the command; the gate's row then names the guard, the reason and its answer.
  const openForm = document.getElementById("open-form");
  const openOther = document.getElementById("open-other");
  const openError = document.getElementById("open-error");
  let opening = null;  // {gate, door, button} the form is open for

  function askReason(gate, door, button) {
    opening = { gate: gate, door: door, button: button };
    document.getElementById("open-legend").textContent = t("Why open {door} at {gate}?", { gate: gate, door: door });
    openForm.reset();
    openError.textContent = "";
    openForm.hidden = false;
    openForm.querySelector("input[type=radio]").focus();
  }

  function closeForm() {
    openForm.hidden = true;
    const was = opening;
    opening = null;
    if (was && was.button.isConnected) was.button.focus();
  }

  function chosenReason() {
    const picked = openForm.querySelector("input[name=open-reason]:checked");
    const typed = openOther.value.trim();
    if (picked && picked.value) return picked.value;
    return typed;
  }

  if (openForm) {
    openOther.addEventListener("input", function () {
      if (openOther.value.trim()) document.getElementById("open-reason-other").checked = true;
    });
    document.getElementById("open-cancel").addEventListener("click", closeForm);
    openForm.addEventListener("keydown", function (e) { if (e.key === "Escape") closeForm(); });
    openForm.addEventListener("submit", function (e) {
      e.preventDefault();
      const reason = chosenReason();
      if (!reason) {
        openError.textContent = t("Pick a reason, or type one.");
        (openOther.value ? openOther : openForm.querySelector("input[type=radio]")).focus();
        return;
      }
      const target = opening;
      closeForm();
      if (target) openDoor(target.gate, target.door, target.button, reason);
    });
  }

  async function openDoor(gate, door, button, reason) {
    button.disabled = true;
    openResult.textContent = t("Opening {door} at {gate}…", { gate: gate, door: door });
    try {
      const r = await fetch("/api/v1/gates/" + encodeURIComponent(gate) + "/doors/" + encodeURIComponent(door) + "/open",
        { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json", "Content-Type": "application/json" },
          body: JSON.stringify({ reason: reason }) });
      const body = await r.json().catch(function () { return {}; });
      openResult.textContent = r.ok ? t("Open sent to {door} at {gate}.", { gate: gate, door: door })
        : t("Not opened: {why}", { why: body.detail || r.status });
    } catch (e) {
      openResult.textContent = t("Not opened: the hub cannot be reached.");
    } finally {
      button.disabled = false;
      button.focus();
    }
  }

  // ---- alarms: every open alarm of the guard's gates, with a sound when one comes, until a
  // person acknowledges it with a note (a supervisor's console: the escalated ones) ----
  const alarmPanel = document.getElementById("alarm-panel");
  const alarmList = document.getElementById("alarms");
  const noAlarms = document.getElementById("no-alarms");
  const alarmCount = document.getElementById("alarm-count");
  const alarmNews = document.getElementById("alarm-news");
  const escalatedOnly = alarmPanel.dataset.escalatedOnly === "yes";
  const alarmRows = new Map();  // id -> li
  let audio = null;
  let beeps = 0;

  // Web Audio, no file: two short tones. A browser may keep audio off until the guard first
  // touches the page; then it is resumed (below), and the next alarm is heard.
  const BEEP_GAP_MS = 1500;  // a burst of alarms (a gate's outbox emptied) is one sound, not a din
  let lastBeep = -Infinity;
  function audioContext() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audio = audio || new Ctx();
    if (audio.state === "suspended") audio.resume().catch(function () {});
    return audio;
  }

  function beep() {
    if (performance.now() - lastBeep < BEEP_GAP_MS) return;
    lastBeep = performance.now();
    beeps += 1;
    alarmPanel.dataset.beeps = String(beeps);
    try {
      if (!audioContext()) return;
      [0, 0.3].forEach(function (start) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "square";
        osc.frequency.value = 880;
        gain.gain.value = 0.15;
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(audio.currentTime + start);
        osc.stop(audio.currentTime + start + 0.18);
      });
    } catch (e) { /* no sound: the panel and the announcement still say it */ }
  }
  // the guard's first touch of the page lets its sound play from then on
  ["click", "keydown"].forEach(function (type) {
    document.addEventListener(type, function () { try { audioContext(); } catch (e) { /* no sound */ } },
      { capture: true });
  });

  function ageOf(iso) {
    const s = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return t("open {seconds} s", { seconds: s });
    const m = Math.floor(s / 60);
    if (m < 60) return t("open {minutes} min", { minutes: m });
    return t("open {hours} h {minutes} min", { hours: Math.floor(m / 60), minutes: m % 60 });
  }

  function alarmWhat(a) {
    return gh.alarmWord(a.kind);
  }

  function alarmWhere(a) {
    const parts = [];
    if (a.gate_id) parts.push(t("gate {gate}", { gate: a.gate_id }));
    if (a.door_id) parts.push(t("door {door}", { door: a.door_id }));
    if (a.kind === "device_degraded" && a.subject) parts.push(a.subject);
    // a visitor's alarm (an overstay, a watch-list hit: hub.visitors) names them and the unit
    if (a.detail && a.detail.visitor) parts.push(t("Visitor {name}", { name: a.detail.visitor }));
    if (a.detail && a.detail.host_unit) parts.push(t("unit {unit}", { unit: a.detail.host_unit }));
    if (a.kind === "remote_open_unacknowledged" && a.detail && a.detail.reason) {
      parts.push(t("reason: {reason}", { reason: openReason(a.detail.reason) }));
    }
    return parts.join(" · ");
  }

  function alarmItem(a) {
    const li = document.createElement("li");
    li.className = "alarm";
    li.dataset.alarmId = a.id;
    li.dataset.kind = a.kind;
    li.dataset.raisedAt = a.raised_at;
    const head = document.createElement("p");
    head.className = "what";
    const kind = document.createElement("strong");
    kind.className = "kind";
    kind.textContent = alarmWhat(a);
    const where = document.createElement("span");
    where.className = "where";
    where.textContent = alarmWhere(a);
    const esc = document.createElement("span");
    esc.className = "escalated-mark";
    esc.textContent = t("escalated to the supervisor");
    head.append(kind, " ", where, " ", esc);
    const when = document.createElement("p");
    when.className = "when";
    const at = document.createElement("span");
    at.className = "raised";
    at.textContent = gh.instant(a.raised_at);
    const age = document.createElement("span");
    age.className = "age";
    age.textContent = ageOf(a.raised_at);
    when.append(at, " · ", age);
    const form = document.createElement("form");
    form.className = "ack";
    form.noValidate = true;
    const label = document.createElement("label");
    label.htmlFor = "ack-note-" + a.id;
    label.textContent = t("Note: what you found or did");
    const note = document.createElement("input");
    note.id = "ack-note-" + a.id;
    note.name = "note";
    note.maxLength = 500;
    note.autocomplete = "off";
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = t("Acknowledge");
    button.setAttribute("aria-label", t("Acknowledge: {alarm}", { alarm: alarmWhat(a) + " " + alarmWhere(a) }));
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("role", "status");
    form.append(label, note, button, error);
    form.addEventListener("submit", function (e) { e.preventDefault(); acknowledge(a.id, note, button, error); });
    li.append(head, when, form);
    return li;
  }

  function alarmCounts() {
    const n = alarmRows.size;
    alarmCount.textContent = n ? "(" + n + ")" : "";
    noAlarms.hidden = n > 0;
    alarmPanel.classList.toggle("ringing", n > 0);
  }

  // one alarm's state as the hub has it now: shown, changed, or gone
  function showAlarm(a, fresh) {
    const wanted = a.state === "open" && (!escalatedOnly || a.escalated);
    let li = alarmRows.get(a.id);
    if (!wanted) {
      if (li) { li.remove(); alarmRows.delete(a.id); alarmCounts(); }
      return;
    }
    const isNew = !li;
    if (isNew) {
      li = alarmItem(a);
      alarmRows.set(a.id, li);
      alarmList.insertBefore(li, alarmList.firstChild);  // newest on top
    }
    li.classList.toggle("escalated", !!a.escalated);
    alarmCounts();
    if (isNew && fresh) {
      beep();
      alarmNews.textContent = t("Alarm: {alarm}", { alarm: alarmWhat(a) + " " + alarmWhere(a) });
    }
  }

  async function acknowledge(id, note, button, error) {
    const text = note.value.trim();
    if (!text) {
      error.textContent = t("Write what you found or did before acknowledging.");
      note.focus();
      return;
    }
    button.disabled = true;
    error.textContent = "";
    try {
      const r = await fetch("/api/v1/alarms/" + encodeURIComponent(id) + "/ack",
        { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json", "Content-Type": "application/json" },
          body: JSON.stringify({ note: text }) });
      const body = await r.json().catch(function () { return {}; });
      if (r.ok) { showAlarm(body, false); alarmNews.textContent = t("Alarm acknowledged."); return; }
      error.textContent = t("Not acknowledged: {why}", { why: body.detail || r.status });
    } catch (e) {
      error.textContent = t("Not acknowledged: the hub cannot be reached.");
    }
    button.disabled = false;
  }

  function followAlarms() {
    const block = document.getElementById("open-alarms");
    let now = { alarms: [], after: 0 };
    try { now = JSON.parse(block.textContent); } catch (e) { console.error("bad alarms", e); }
    now.alarms.forEach(function (a) { showAlarm(a, false); });
    alarmCounts();
    const source = new EventSource("/api/v1/alarms/stream?after=" + encodeURIComponent(now.after));
    source.addEventListener("open", function () { alarmPanel.dataset.stream = "open"; });
    source.addEventListener("alarm", function (msg) {
      let a;
      try { a = JSON.parse(msg.data); } catch (e) { console.error("bad alarm", e); return; }
      showAlarm(a, true);
    });
    setInterval(function () {
      alarmRows.forEach(function (li) { li.querySelector(".age").textContent = ageOf(li.dataset.raisedAt); });
    }, 1000);
  }

  function renderGates(gates) {
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.key : null;
    gatesBox.replaceChildren();
    gates.forEach(function (g) {
      if (g.role === "enroll") return;  // a card-centre desk reader has no door to open
      const box = document.createElement("div");
      box.className = "gate-box";
      const h = document.createElement("h3");
      h.textContent = g.gate_id;
      const badge = document.createElement("span");
      badge.className = "badge " + (g.online ? "online" : "offline");
      badge.textContent = g.online ? t("online") : t("offline");
      h.appendChild(badge);
      box.appendChild(h);
      const warnings = [];
      Object.keys(g.doors || {}).forEach(function (d) {
        if (g.doors[d].state !== "ok") {
          warnings.push(t("Door {door} may not work: {problems}", { door: d, problems: (g.doors[d].problems || []).join("; ") }));
        }
      });
      if (g.clock_drift) warnings.push(t("The gate's clock is off by {seconds} s", { seconds: Math.round(g.clock_offset_s) }));
      warnings.forEach(function (text) {
        const p = document.createElement("p");
        p.className = "warning";  // not a live region: the boxes are redrawn every 10 s, unchanged
        p.textContent = text;
        box.appendChild(p);
      });
      const doors = Object.keys(g.doors || {});
      if (!doors.length) {
        const p = document.createElement("p");
        p.textContent = t("No doors reported");
        box.appendChild(p);
      }
      doors.forEach(function (d) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = t("Open {door}", { door: d });
        b.dataset.key = g.gate_id + "/" + d;
        // the name begins with the button's visible words (WCAG 2.5.3), then says which gate
        b.setAttribute("aria-label", t("Open {door}, gate {gate}", { door: d, gate: g.gate_id }));
        b.disabled = !g.online;
        b.addEventListener("click", function () { askReason(g.gate_id, d, b); });
        box.appendChild(b);
        if (focused === b.dataset.key) b.focus();
      });
      gatesBox.appendChild(box);
    });
    if (!gatesBox.children.length) {
      const p = document.createElement("p");
      p.textContent = t("No gate has reported yet.");
      gatesBox.appendChild(p);
    }
  }

  async function loadGates() {
    if (!gatesBox) return;
    try {
      const r = await fetch("/api/v1/gates", { credentials: "same-origin" });
      if (r.ok) renderGates(await r.json());
    } catch (e) { /* the next round tries again */ }
  }

  // The doors are asked for once the first passes are in the table (or after GATES_AFTER_MS
  // if there are none): the photos in view go to the hub first. Measured when the rows still
  // came by the stream, asking for both at once delayed the rows; the door buttons a moment
  // after the rows cost the guard nothing.
  const GATES_AFTER_MS = 1000;
  let gatesAsked = false;
  function firstRows() {
    if (gatesAsked) return;
    gatesAsked = true;
    loadGates();
    setInterval(loadGates, 10000);
  }

  followAlarms();
  connect(backlog());
  setTimeout(firstRows, GATES_AFTER_MS);
})();
