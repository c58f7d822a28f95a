// The guard's live page: passes as they happen (server-sent events) and remote-open buttons.
// Builds the DOM with textContent only: nothing from the wire is ever parsed as HTML.
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
  // photos the hub said it has none of: asked once per page, not once per pass
  const noPhoto = new Set();
  // One formatter for every row. The first one a page builds loads the locale's data (17 to
  // 67 ms in chromium here); built just after the stream is asked for, that overlaps the wait
  // for the hub instead of delaying the first row as the first toLocaleString() did. The
  // options are toLocaleString's, and the zone the browser's own (the guard's screen is at
  // the estate), so the text is as before.
  let timeFormat = null;
  function formatter() {
    if (timeFormat === null) {
      timeFormat = new Intl.DateTimeFormat(undefined, {
        year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
      });
    }
    return timeFormat;
  }
  let pending = [];
  let flushing = false;
  let drawn = 0;
  // the rows a new page starts with (the stream's backlog, which comes at once after it opens)
  // are drawn without the yellow flash: it marks passes that happen while the guard watches,
  // and twenty rows flashing together repainted the whole table every frame for 1.5 s
  const BACKLOG_MS = 1000;
  let firstOpen = null;

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text == null ? "" : String(text);
    tr.appendChild(td);
    return td;
  }

  function timeOf(iso) {
    const d = new Date(iso);
    return isNaN(d) ? iso : formatter().format(d);
  }

  function photoOf(uid, name) {
    const img = document.createElement("img");
    img.alt = "Photo of " + name;
    img.width = 48;
    img.height = 48;
    img.decoding = "async";
    img.addEventListener("error", function () { noPhoto.add(uid); img.remove(); });
    img.src = "/api/v1/cards/" + encodeURIComponent(uid) + "/photo";
    return img;
  }

  // Photos are asked for when their row comes into view: every photo is a request the hub
  // answers one at a time, and on a new page they were most of the wait for the rows in view.
  // Until then (and for good when there is none) the cell is the placeholder. Rows drawn in
  // view ask at once (see flush); the others when scrolled to.
  const FOLD_MARGIN = 120;
  const photoWatch = "IntersectionObserver" in window
    ? new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) { if (entry.isIntersecting) showPhoto(entry.target); });
    }, { rootMargin: "0px 0px " + FOLD_MARGIN + "px 0px" })
    : null;

  function showPhoto(td) {
    if (photoWatch) photoWatch.unobserve(td);
    const uid = td.dataset.uid;
    if (!noPhoto.has(uid)) td.appendChild(photoOf(uid, td.dataset.name));
    td.dataset.photo = "asked";
  }

  function wantPhoto(td, ev) {
    td.dataset.uid = ev.uid;
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
    if (ev.uid && ev.holder && !noPhoto.has(ev.uid)) wantPhoto(photo, ev);
    const t = cell(tr, timeOf(ev.at), "time");
    t.title = ev.at;
    cell(tr, ev.gate_id, "gate");
    cell(tr, ev.door_id, "door");
    cell(tr, ev.decision || ev.kind, "decision");
    cell(tr, ev.reason ? String(ev.reason).replace(/_/g, " ") : "", "reason");
    cell(tr, ev.holder ? ev.holder.name : (ev.uid ? "unknown card " + ev.uid : ""), "holder");
    cell(tr, ev.holder ? ev.holder.unit : "", "unit");
    return tr;
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
    const batch = pending.length > MAX_ROWS ? pending.slice(-MAX_ROWS) : pending;
    pending = [];
    const fresh = firstOpen === null || performance.now() - firstOpen > BACKLOG_MS;
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
    const ev = batch[batch.length - 1];
    latest.textContent = [ev.decision || ev.kind, ev.gate_id, ev.door_id, ev.holder ? ev.holder.name : ev.uid]
      .filter(Boolean).join(" ");
    if (drawn < FIRST_ROWS) {
      drawn += batch.length;
      if (drawn >= FIRST_ROWS) afterPaint(function () { performance.mark("rows-drawn"); });
    }
  }

  function afterPaint(fn) {
    requestAnimationFrame(function () { setTimeout(fn, 0); });
  }

  function connect() {
    const source = new EventSource("/api/v1/events/stream");
    source.addEventListener("open", function () {
      state.textContent = "live";
      state.className = "state live";
      if (firstOpen === null) firstOpen = performance.now();
      noPhoto.clear();  // a photo that failed while the hub was away is asked for again
    });
    source.addEventListener("error", function () { state.textContent = "reconnecting…"; state.className = "state"; });
    source.addEventListener("gate-event", function (msg) {
      let ev;
      try { ev = JSON.parse(msg.data); } catch (e) { console.error("bad event", e); return; }
      addPass(ev);
    });
  }

  async function openDoor(gate, door, button) {
    button.disabled = true;
    openResult.textContent = "Opening " + gate + " / " + door + "…";
    try {
      const r = await fetch("/api/v1/gates/" + encodeURIComponent(gate) + "/doors/" + encodeURIComponent(door) + "/open",
        { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" } });
      const body = await r.json().catch(function () { return {}; });
      openResult.textContent = r.ok ? "Open sent to " + gate + " / " + door + "."
        : "Not opened: " + (body.detail || r.status);
    } catch (e) {
      openResult.textContent = "Not opened: the hub cannot be reached.";
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
      badge.textContent = g.online ? "online" : "offline";
      h.appendChild(badge);
      box.appendChild(h);
      const warnings = [];
      Object.keys(g.doors || {}).forEach(function (d) {
        if (g.doors[d].state !== "ok") warnings.push(d + " degraded: " + (g.doors[d].problems || []).join("; "));
      });
      if (g.clock_drift) warnings.push("clock off by " + Math.round(g.clock_offset_s) + " s");
      warnings.forEach(function (text) {
        const p = document.createElement("p");
        p.className = "warning";
        p.setAttribute("role", "status");
        p.textContent = text;
        box.appendChild(p);
      });
      const doors = Object.keys(g.doors || {});
      if (!doors.length) {
        const p = document.createElement("p");
        p.textContent = "no doors reported";
        box.appendChild(p);
      }
      doors.forEach(function (d) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "Open " + d;
        b.dataset.key = g.gate_id + "/" + d;
        b.setAttribute("aria-label", "Open door " + d + " at gate " + g.gate_id);
        b.disabled = !g.online;
        b.addEventListener("click", function () { openDoor(g.gate_id, d, b); });
        box.appendChild(b);
        if (focused === b.dataset.key) b.focus();
      });
      gatesBox.appendChild(box);
    });
  }

  async function loadGates() {
    if (!gatesBox) return;
    try {
      const r = await fetch("/api/v1/gates", { credentials: "same-origin" });
      if (r.ok) renderGates(await r.json());
    } catch (e) { /* the next round tries again */ }
  }

  connect();
  loadGates();
  setTimeout(formatter, 0);  // after both requests are on their way
  setInterval(loadGates, 10000);
})();
