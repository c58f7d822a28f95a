// The enrolment desk on the clerk's card-issue form: a card tapped on the chosen desk
// reader fills the UID field at once, with what the hub knows of that card beside it.
// The clerk can still type a UID; a typed one gets its standing too. The chosen station
// is remembered in this browser. Text only (textContent), never markup built from data.
"use strict";

(() => {
  const uidInput = document.getElementById("issue-uid");
  if (!uidInput) return;
  const form = uidInput.form;
  const KEY = "gatehouse.enroll.station";
  let source = null;
  let typedTimer = null;
  let typedSeq = 0;

  // -- the station chooser, above the form; the standing, beside the UID field --------
  const box = document.createElement("p");
  box.id = "enroll";
  const label = document.createElement("label");
  label.append(gh.t("Desk reader") + " ");
  const select = document.createElement("select");
  select.id = "enroll-station";
  const none = document.createElement("option");
  none.value = "";
  none.textContent = gh.t("none (type the UID)");
  select.append(none);
  label.append(select);
  const state = document.createElement("span");
  state.id = "enroll-state";
  state.setAttribute("role", "status");
  state.dataset.state = "off";
  box.append(label, " ", state);
  form.before(box);

  const standing = document.createElement("output");
  standing.id = "enroll-standing";
  standing.setAttribute("aria-live", "polite");
  standing.htmlFor = "issue-uid";
  (uidInput.closest("label") || uidInput).after(standing);

  function setState(name, text) {
    state.dataset.state = name;
    state.textContent = text;
  }

  function showStanding(s) {
    if (!s) {
      standing.textContent = "";
      delete standing.dataset.state;
      return;
    }
    standing.dataset.state = s.state;
    standing.textContent = s.can_issue ? ` ${s.text}` : ` ⚠ ${s.text}`;
  }

  // -- taps from the chosen station ---------------------------------------------------
  function listen(gateId) {
    if (source) {
      source.close();
      source = null;
    }
    if (!gateId) {
      setState("off", "");
      return;
    }
    setState("connecting", gh.t("Connecting to {station}…", { station: gateId }));
    source = new EventSource(`/api/v1/enroll/stations/${encodeURIComponent(gateId)}/stream`);
    source.addEventListener("open", () => setState("listening", gh.t("Tap a card on {station}.", { station: gateId })));
    source.addEventListener("error", () => {
      if (source && source.readyState === EventSource.CLOSED) setState("error", gh.t("{station} cannot be reached; choose it again.", { station: gateId }));
      else setState("connecting", gh.t("Reconnecting to {station}…", { station: gateId }));
    });
    source.addEventListener("presented", (e) => {
      const tap = JSON.parse(e.data);
      typedSeq += 1; // a typed UID's answer still on its way must not overwrite the tap
      uidInput.value = tap.uid;
      showStanding(tap.standing);
      setState("listening", gh.t("Card {uid} tapped on {station}.", { uid: tap.uid, station: gateId }));
    });
  }

  async function loadStations() {
    let stations = [];
    try {
      const r = await fetch("/api/v1/enroll/stations", { credentials: "same-origin" });
      if (r.ok) stations = await r.json();
    } catch (_) { /* the page still works by typing */ }
    for (const s of stations) {
      const o = document.createElement("option");
      o.value = s.gate_id;
      o.textContent = s.online ? s.gate_id : gh.t("{station} (offline)", { station: s.gate_id });
      select.append(o);
    }
    const kept = localStorage.getItem(KEY);
    if (kept && stations.some((s) => s.gate_id === kept)) {
      select.value = kept;
      listen(kept);
    }
    box.dataset.loaded = String(stations.length);
  }

  select.addEventListener("change", () => {
    if (select.value) localStorage.setItem(KEY, select.value);
    else localStorage.removeItem(KEY);
    listen(select.value);
  });

  // -- a UID typed by hand --------------------------------------------------------------
  uidInput.addEventListener("input", () => {
    clearTimeout(typedTimer);
    const seq = ++typedSeq;
    const uid = window.clerk.tidyUid(uidInput.value); // the one tidy-up of every UID box (clerk.js)
    if (!/^[0-9a-fA-F]{2,32}$/.test(uid) || uid.length % 2) {
      showStanding(null);
      return;
    }
    typedTimer = setTimeout(async () => {
      try {
        const r = await fetch(`/api/v1/enroll/cards/${encodeURIComponent(uid)}`, { credentials: "same-origin" });
        if (r.ok && seq === typedSeq) showStanding(await r.json());
      } catch (_) { /* no standing shown; issuing still checks */ }
    }, 300);
  });

  form.addEventListener("reset", () => showStanding(null));
  window.addEventListener("pagehide", () => source && source.close());
  loadStations();
})();
