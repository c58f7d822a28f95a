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
    },
    kind: {
      pass: t("card pass"), remote_open: t("remote open"), exit_button: t("exit button"),
      door_forced: t("door forced open"), door_held: t("door held open"), door_closed: t("door closed"),
      device: t("device"), presented: t("card presented"),
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
    const photo = cell(tr, "", "photo");
    // only a card in the register can have a photo; an unknown card's row shows the placeholder
    if (ev.photo && ev.holder) wantPhoto(photo, ev);
    const when = cell(tr, timeOf(ev.at), "time");
    when.title = ev.at;
    cell(tr, ev.gate_id, "gate");
    cell(tr, ev.door_id, "door");
    cell(tr, ev.decision ? word("decision", ev.decision) : word("kind", ev.kind), "decision");
    cell(tr, word("reason", ev.reason), "reason");
    cell(tr, whoOf(ev), "holder");
    cell(tr, ev.holder ? ev.holder.unit : "", "unit");
    return tr;
  }

  // the holder; for a remote open, who opened it (the hub joins the name: hub.web.live)
  function whoOf(ev) {
    if (ev.holder) return ev.holder.name;
    if (ev.opened_by) return t("Opened by {name}", { name: ev.opened_by });
    return ev.uid ? t("Unknown card {uid}", { uid: ev.uid }) : "";
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

  async function openDoor(gate, door, button) {
    button.disabled = true;
    openResult.textContent = t("Opening {door} at {gate}…", { gate: gate, door: door });
    try {
      const r = await fetch("/api/v1/gates/" + encodeURIComponent(gate) + "/doors/" + encodeURIComponent(door) + "/open",
        { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" } });
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
        b.addEventListener("click", function () { openDoor(g.gate_id, d, b); });
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

  connect(backlog());
  setTimeout(firstRows, GATES_AFTER_MS);
})();
