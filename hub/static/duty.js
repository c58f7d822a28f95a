// The duty desk's page: write an entry fast, the shift's log, the open items, the incidents
// still to be reported up with a countdown to their time, and the handover. It reads and
// writes the duty API (hub/dutylog/views.py) with the session cookie. The DOM is built with
// textContent only: nothing from the hub is parsed as HTML. Every word is the reader's
// language (gh.t) and every time the estate's (gh.instant).
"use strict";
(function () {
  const t = gh.t;
  const $ = function (id) { return document.getElementById(id); };
  const REFRESH_MS = 15000;
  const KINDS = { note: t("note"), handover: t("handover item"), incident: t("special incident") };
  const INCIDENTS = {
    water_cut: t("water cut"), power_cut: t("power cut"), fire: t("fire"), injury: t("injury"),
    security: t("security"), other: t("other incident"),
  };
  // the hub's clock less this browser's: a countdown is to the hub's deadline, not the PC's
  let skew = 0;
  let current = null;

  // hub/static/forms.js talks to the hub; each answer's "now" keeps the hub's clock
  async function api(method, path, body) {
    const data = await gh.api(method, path, body);
    if (data && data.now) skew = Date.parse(data.now) - Date.now();
    return data;
  }

  const el = gh.textEl;  // el(tag, text, cls): hub/static/forms.js

  const say = gh.sayIn;  // say(id, text, bad): hub/static/forms.js

  function kindOf(entry) {
    if (entry.kind === "incident") {
      return KINDS.incident + " · " + (INCIDENTS[entry.incident_kind] || entry.incident_kind);
    }
    return KINDS[entry.kind] || entry.kind;
  }

  // one entry as the log shows it: when (estate time), what kind, what, who; and its state
  function entryLine(entry) {
    const li = el("li", null, "entry " + entry.kind + (entry.state === "closed" ? " closed" : ""));
    li.dataset.entryId = entry.id;
    const head = el("p", null, "entry-head");
    head.appendChild(el("time", gh.instant(entry.at), "at")).dateTime = entry.at;
    head.appendChild(el("span", kindOf(entry), "kind"));
    if (entry.by) head.appendChild(el("span", entry.by, "by"));
    li.appendChild(head);
    li.appendChild(el("p", entry.text, "text"));
    if (entry.reported_at) {
      li.appendChild(el("p", t("Reported to {to} at {at}", { to: entry.reported_to, at: gh.instant(entry.reported_at) }),
        "state"));
    }
    if (entry.state === "closed") {
      li.appendChild(el("p", t("Closed by {by} at {at}: {note}",
        { by: entry.closed_by, at: gh.instant(entry.closed_at), note: entry.closed_note }), "state"));
    }
    return li;
  }

  // a list's items; when there are none, its "none" line (the one named, or a plain "none")
  function fill(listId, items, noneId, make) {
    const list = $(listId);
    const made = items.map(make);
    if (!noneId && !made.length) made.push(el("li", t("none"), "hint"));
    list.replaceChildren.apply(list, made);
    if (noneId) $(noneId).hidden = items.length > 0;
  }

  // mm:ss
  function clock(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function tick() {
    const now = Date.now() + skew;
    document.querySelectorAll("[data-due]").forEach(function (span) {
      const left = Date.parse(span.dataset.due) - now;
      span.textContent = left > 0 ? t("{time} left to report up", { time: clock(left) })
        : t("Overdue by {time}", { time: clock(-left) });
      span.classList.toggle("overdue", left <= 0);
    });
  }

  // a small form of one box and a button, for an item's next step
  function stepForm(id, label, button, send) {
    const form = el("form", null, "step");
    const box = el("input");
    box.id = id;
    box.maxLength = 1000;
    box.autocomplete = "off";
    const lab = el("label", label);
    lab.htmlFor = id;
    const btn = el("button", button);
    btn.type = "submit";
    btn.id = id + "-go";
    const result = el("p", null, "result");
    result.setAttribute("role", "status");
    form.append(lab, box, btn, result);
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      if (!box.value.trim()) { result.textContent = t("Write something first."); result.className = "result error"; box.focus(); return; }
      btn.disabled = true;
      try {
        await send(box.value.trim());
        await refresh();
      } catch (err) {
        result.textContent = err.message;
        result.className = "result error";
      } finally {
        btn.disabled = false;
      }
    });
    return form;
  }

  function incidentLine(entry) {
    const li = entryLine(entry);
    const due = el("span", null, "countdown");
    due.dataset.due = entry.report_due_at;
    due.setAttribute("role", "timer");
    due.id = "due-" + entry.id;
    li.querySelector(".entry-head").appendChild(due);
    li.appendChild(stepForm("report-" + entry.id, t("Reported up to (name or post)"), t("Reported"), function (to) {
      return api("POST", "/api/v1/duty/incidents/" + entry.id + "/reported", { to: to });
    }));
    return li;
  }

  function openLine(entry) {
    const li = entryLine(entry);
    if (entry.kind === "incident" && !entry.reported_at) {
      li.appendChild(el("p", t("Report it up before closing it."), "hint"));
      return li;
    }
    li.appendChild(stepForm("close-" + entry.id, t("What was done"), t("Close"), function (note) {
      return api("POST", "/api/v1/duty/entries/" + entry.id + "/close", { note: note });
    }));
    return li;
  }

  function alarmLine(alarm) {
    const li = el("li", null, "alarm");
    const where = [alarm.gate_id, alarm.door_id].filter(Boolean).join(" / ");
    li.appendChild(el("time", gh.instant(alarm.raised_at), "at"));
    li.appendChild(el("span", " " + alarmWord(alarm.kind) + (where ? " · " + where : ""), "kind"));
    return li;
  }

  const alarmWord = gh.alarmWord;

  function visitorLine(v) {
    const li = el("li", null, "visitor");
    li.appendChild(el("span", v.visitor_name, "name"));
    li.appendChild(el("span", " · " + (v.host_unit || ""), "unit"));
    if (v.checked_in_at) li.appendChild(el("span", " · " + t("in since {at}", { at: gh.instant(v.checked_in_at) })));
    return li;
  }

  function shiftName(span) {
    return t("Shift {label} of {day}", { label: span.label, day: span.day });
  }

  async function loadLog() {
    const [mine, open] = await Promise.all([api("GET", "/api/v1/duty/entries"),
      api("GET", "/api/v1/duty/entries?open=true")]);
    current = mine.shift;
    $("shift-now").textContent = shiftName(mine.shift);
    fill("log", mine.items.slice().reverse(), "log-none", entryLine);
    const waiting = open.items.filter(function (e) { return e.kind === "incident" && !e.reported_at; });
    fill("incidents", waiting, "incidents-none", incidentLine);
    fill("open-items", open.items.filter(function (e) { return !(e.kind === "incident" && !e.reported_at); }),
      "open-none", openLine);
  }

  async function loadHandover() {
    const which = $("handover-shift").value;
    const q = which === "current" && current ? "?shift=" + encodeURIComponent(current.key) : "";
    const h = await api("GET", "/api/v1/duty/handover" + q);
    $("handover-title").textContent = shiftName(h.shift);
    $("accept-form").dataset.shift = h.shift.key;
    fill("handover-open", h.open_items, null, entryLine);
    fill("handover-log", h.entries, null, entryLine);
    $("handover-alarms-box").hidden = h.alarms == null;
    if (h.alarms != null) fill("handover-alarms", h.alarms, null, alarmLine);
    $("handover-visitors-box").hidden = h.visitors_inside == null;
    if (h.visitors_inside != null) fill("handover-visitors", h.visitors_inside, null, visitorLine);
    const a = h.accepted;
    $("handover-accepted").textContent = a ? t("Accepted by {by} at {at}", { by: a.by, at: gh.instant(a.at) })
      + (a.note ? " · " + a.note : "") : t("Not yet accepted.");
    $("accept-form").hidden = !!a;
  }

  let refreshing = null;
  async function refresh() {
    if (refreshing) return refreshing;
    refreshing = (async function () {
      try {
        await loadLog();
        await loadHandover();
        tick();
        $("log").dataset.drawn = "1";  // everything drawn once (tests and the i18n walk wait for it)
        say("duty-state", t("Up to date at {at}", { at: gh.instant(new Date(Date.now() + skew).toISOString()) }));
      } catch (err) {
        say("duty-state", err.message, true);
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  function kindChosen() {
    const chosen = document.querySelector("input[name=kind]:checked");
    return chosen ? chosen.value : "note";
  }

  document.querySelectorAll("input[name=kind]").forEach(function (r) {
    r.addEventListener("change", function () { $("incident-kind-box").hidden = kindChosen() !== "incident"; });
  });

  const form = $("entry-form");
  const text = $("entry-text");
  text.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const kind = kindChosen();
    if (!text.value.trim()) { say("entry-result", t("Write what happened first."), true); text.focus(); return; }
    const body = { kind: kind, text: text.value };
    if (kind === "incident") body.incident_kind = $("incident-kind").value;
    $("entry-submit").disabled = true;
    try {
      const entry = await api("POST", "/api/v1/duty/entries", body);
      text.value = "";
      say("entry-result", t("Written at {at}.", { at: gh.instant(entry.at) }));
      await refresh();
      text.focus();
    } catch (err) {
      say("entry-result", err.message, true);
    } finally {
      $("entry-submit").disabled = false;
    }
  });

  $("handover-shift").addEventListener("change", function () { refresh(); });
  $("accept-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    $("accept-submit").disabled = true;
    try {
      await api("POST", "/api/v1/duty/handover/accept", { shift: $("accept-form").dataset.shift, note: $("accept-note").value });
      say("accept-result", t("Handover accepted."));
      $("accept-note").value = "";
      await refresh();
    } catch (err) {
      say("accept-result", err.message, true);
    } finally {
      $("accept-submit").disabled = false;
    }
  });

  // the periodic refresh redraws the lists: not while someone is typing into an item's form
  function typing() {
    const active = document.activeElement;
    if (active && active.closest && active.closest("form.step")) return true;
    return Array.prototype.some.call(document.querySelectorAll("form.step input"), function (i) { return i.value; });
  }

  refresh();
  setInterval(tick, 1000);
  setInterval(function () { if (!typing()) refresh(); }, REFRESH_MS);
})();
