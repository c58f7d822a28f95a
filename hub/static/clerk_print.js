// The monthly report page's buttons (no inline script: the hub's CSP forbids it): print, and
// for a supervisor, file the report through the filing API; a refusal is said in the form.
"use strict";

document.getElementById("print")?.addEventListener("click", () => window.print());

(() => {
  const form = document.getElementById("file-form");
  if (!form) return;
  const box = document.getElementById("file-error");
  const note = document.getElementById("file-note");
  const button = document.getElementById("file-submit");

  function refuse(text, rule) {
    box.textContent = text;
    if (rule) box.dataset.rule = rule;
    if (note) { note.setAttribute("aria-invalid", "true"); note.focus(); } else { button.focus(); }
    box.scrollIntoView({ block: "nearest" });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    box.textContent = "";
    delete box.dataset.rule;
    if (note && !note.value.trim()) { refuse(gh.t("Fill this in first.")); return; }
    button.disabled = true;
    try {
      const r = await fetch(`/api/v1/stock/reports/${encodeURIComponent(form.dataset.month)}/file`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ note: note ? note.value.trim() : null }),
      });
      if (r.ok) { window.location.reload(); return; }
      const data = (r.headers.get("content-type") || "").includes("json") ? await r.json() : null;
      refuse((data && data.detail) || gh.t("The hub answered with an error ({status}).", { status: r.status }),
        data && data.error);
    } catch (_) {
      refuse(gh.t("The hub cannot be reached. Check the network and try again."), "offline");
    } finally {
      button.disabled = false;
    }
  });
})();
