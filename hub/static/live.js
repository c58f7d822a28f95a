// The guard's live page: passes as they happen (server-sent events) and remote-open buttons.
// Builds the DOM with textContent only: nothing from the wire is ever parsed as HTML.
"use strict";
(function () {
  const MAX_ROWS = 200;
  const tbody = document.getElementById("passes");
  const state = document.getElementById("stream-state");
  const latest = document.getElementById("latest");
  const gatesBox = document.getElementById("gates");
  const openResult = document.getElementById("open-result");
  const seen = new Set();

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text == null ? "" : String(text);
    tr.appendChild(td);
    return td;
  }

  function timeOf(iso) {
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function addPass(ev) {
    if (seen.has(ev.seq)) return;
    seen.add(ev.seq);
    const tr = document.createElement("tr");
    tr.className = (ev.decision || ev.kind) + " fresh";
    tr.dataset.eventId = ev.event_id;
    tr.dataset.seq = ev.seq;
    const photo = cell(tr, "", "photo");
    if (ev.uid) {
      const img = document.createElement("img");
      img.alt = ev.holder ? "Photo of " + ev.holder.name : "";
      img.src = "/api/v1/cards/" + encodeURIComponent(ev.uid) + "/photo";
      img.addEventListener("error", function () { img.remove(); });
      photo.appendChild(img);
    }
    const t = cell(tr, timeOf(ev.at), "time");
    t.title = ev.at;
    cell(tr, ev.gate_id, "gate");
    cell(tr, ev.door_id, "door");
    cell(tr, ev.decision || ev.kind, "decision");
    cell(tr, ev.reason ? String(ev.reason).replace(/_/g, " ") : "", "reason");
    cell(tr, ev.holder ? ev.holder.name : (ev.uid ? "unknown card " + ev.uid : ""), "holder");
    cell(tr, ev.holder ? ev.holder.unit : "", "unit");
    tbody.insertBefore(tr, tbody.firstChild);
    while (tbody.children.length > MAX_ROWS) tbody.removeChild(tbody.lastChild);
    latest.textContent = [ev.decision || ev.kind, ev.gate_id, ev.door_id, ev.holder ? ev.holder.name : ev.uid]
      .filter(Boolean).join(" ");
  }

  function connect() {
    const source = new EventSource("/api/v1/events/stream");
    source.addEventListener("open", function () { state.textContent = "live"; state.className = "state live"; });
    source.addEventListener("error", function () { state.textContent = "reconnecting…"; state.className = "state"; });
    source.addEventListener("gate-event", function (msg) {
      try { addPass(JSON.parse(msg.data)); } catch (e) { console.error("bad event", e); }
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
  setInterval(loadGates, 10000);
})();
