// What every staff page's script does with the hub and with its forms, said once here and put
// on window.gh next to hub/static/i18n.js's words (load this after it): gh.api talks JSON with
// the session cookie and turns the hub's error body {"error", "detail", "field"} into a thrown
// error; a refused move is said inside the form that failed, on the field the hub named
// (marked aria-invalid, focused, announced), so the pages cannot drift apart on how a refusal
// looks. A page's own differences are options: gh.forms({ruleField, fields, loose, enter}).
// Everything is built with textContent: nothing typed by people becomes markup.
"use strict";
(function () {
  const gh = window.gh;
  const t = gh.t;

  // -- talking to the hub ---------------------------------------------------------------------

  // JSON (or a FormData as it is) to the hub; a refusal thrown as an Error carrying the hub's
  // rule, field and status, so a form can say it on the right box
  async function api(method, path, body) {
    const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, opts);
    } catch (_) {
      throw Object.assign(new Error(t("The hub cannot be reached. Check the network and try again.")), { rule: "offline" });
    }
    const data = (r.headers.get("content-type") || "").includes("json") ? await r.json() : null;
    if (!r.ok) {
      const err = new Error((data && data.detail) || t("The hub answered with an error ({status}).", { status: r.status }));
      err.rule = data && (data.error || data.rule);
      err.field = data && data.field;
      err.status = r.status;
      throw err;
    }
    return data;
  }

  // a list the API gives bare or as {items: [...]}
  const listOf = (data) => (Array.isArray(data) ? data : (data && data.items) || []);

  // -- what the page says -----------------------------------------------------------------------

  // the page's one message line (#message)
  function say(text, ok = true) {
    const m = document.getElementById("message");
    m.textContent = text;
    m.className = ok ? "ok" : "error";
  }

  // a line of its own (by id), cleared by an empty text
  function sayIn(id, text, bad) {
    const p = document.getElementById(id);
    p.textContent = text || "";
    p.classList.toggle("error", !!bad);
  }

  // an element holding ``text`` (as text, never markup), of class ``cls``
  function textEl(tag, text, cls) {
    const e = document.createElement(tag);
    if (text != null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // a span of text in ``parent`` unless there is nothing to say; the span, or null
  function fact(parent, cls, text) {
    if (text === null || text === undefined || text === "") return null;
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = String(text);
    parent.append(span);
    return span;
  }

  // -- forms ------------------------------------------------------------------------------------

  // a box the reader can see and use: not in a hidden part, not disabled, not a hidden input
  function visible(el) {
    return !el.closest("[hidden]") && !el.disabled && el.type !== "hidden";
  }

  // a refusal the page itself makes, on the box it is about
  class Refusal extends Error {
    constructor(message, input) { super(message); this.input = input; this.rule = "form"; }
  }

  function clearErrors(form) {
    const box = form.querySelector(".form-error");
    if (box) { box.textContent = ""; delete box.dataset.rule; }
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  const FIELDS = "input[data-field], select[data-field], textarea[data-field], fieldset[data-field]";

  // the box for the field the hub named ("holder.name"): by its whole name, else its first part
  // (a fieldset's checked choice). ``fields``: which elements may be a field's box; ``loose``:
  // also by the name's last part, or a box of a field inside the first part ("items.name")
  function fieldFor(form, field, { fields = FIELDS, loose = false } = {}) {
    if (!field) return null;
    const inputs = [...form.querySelectorAll(fields)].filter(visible);
    const names = (el) => el.dataset.field.split(" ");
    const has = (name) => inputs.find((el) => names(el).includes(name));
    const parts = String(field).split(".");
    let found = has(String(field)) || has(parts[0]) || null;
    if (!found && loose) {
      found = has(parts[parts.length - 1])
        || inputs.find((el) => names(el).some((f) => f.startsWith(parts[0] + "."))) || null;
    }
    if (found && found.tagName === "FIELDSET") return found.querySelector("input:checked") || found.querySelector("input");
    return found;
  }

  // the error inside the form that failed, on its field (the hub's, else its rule's by
  // ``ruleField``): marked, focused and announced; on the form's error line if it names none
  function formError(form, err, options = {}) {
    clearErrors(form);
    const box = form.querySelector(".form-error");
    box.textContent = err.message;
    if (err.rule) box.dataset.rule = err.rule;
    const ruleField = options.ruleField || {};
    const input = err.input || fieldFor(form, err.field, options)
      || fieldFor(form, Object.prototype.hasOwnProperty.call(ruleField, err.rule) ? ruleField[err.rule] : null, options);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      if (box.id) input.setAttribute("aria-errormessage", box.id);
      input.focus({ preventScroll: true });
      input.scrollIntoView({ block: "nearest" });
    } else {
      box.tabIndex = -1;
      box.focus({ preventScroll: true });
      box.scrollIntoView({ block: "nearest" });
    }
  }

  // nothing sent while a required box is empty: a second click after a move cannot repeat it
  function checkRequired(form) {
    for (const el of form.querySelectorAll("[required]")) {
      if (!visible(el)) continue;
      if (el.type === "file" ? !el.files.length : !String(el.value).trim()) throw new Refusal(t("Fill this in first."), el);
    }
  }

  // a form (or its id) that does its move on submit: checked first, its button held while the
  // hub answers, a refusal said inside it. ``enter``: Enter submits from any of its fields too
  // (a choice, a list; in a text box Shift+Enter is a new line)
  function move(form, run, options = {}) {
    if (typeof form === "string") form = document.getElementById(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button.disabled) return;
      clearErrors(form);
      button.disabled = true;
      try {
        checkRequired(form);
        await run(form);
      } catch (err) {
        formError(form, err, options);
      } finally {
        button.disabled = false;
      }
    });
    form.addEventListener("input", (e) => {
      if (e.target.hasAttribute("aria-invalid")) e.target.removeAttribute("aria-invalid");
    });
    if (options.enter) {
      form.addEventListener("keydown", (e) => {
        if (e.key !== "Enter" || e.isComposing || e.ctrlKey || e.altKey || e.metaKey) return;
        const el = e.target;
        if (el.tagName === "TEXTAREA" ? e.shiftKey : !["SELECT", "INPUT"].includes(el.tagName)) return;
        if (el.tagName === "INPUT" && !["radio", "checkbox"].includes(el.type)) return;  // the browser submits these
        e.preventDefault();
        form.requestSubmit();
      });
    }
  }

  // the form helpers with one page's options bound: {ruleField, fields, loose, enter}
  function forms(options = {}) {
    return {
      fieldFor: (form, field) => fieldFor(form, field, options),
      formError: (form, err) => formError(form, err, options),
      move: (form, run) => move(form, run, options),
      clearErrors, checkRequired, visible, Refusal,
    };
  }

  // -- times: the estate's wall clock, whatever the browser's -----------------------------------

  let partsFormat = null;
  function estateParts(at) {
    if (!partsFormat) {
      partsFormat = new Intl.DateTimeFormat("en-CA", { timeZone: gh.tz, hourCycle: "h23", year: "numeric",
        month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    }
    const parts = {};
    partsFormat.formatToParts(at).forEach((p) => { if (p.type !== "literal") parts[p.type] = Number(p.value); });
    return parts;
  }

  // the instant the estate's clocks show y-mo-d h:mi:s (the offset found for that very moment)
  function estateInstant(y, mo, d, h = 0, mi = 0, s = 0) {
    const wall = Date.UTC(y, mo - 1, d, h, mi, s);
    const p = estateParts(new Date(wall));
    const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return new Date(wall - (shown - wall));
  }

  Object.assign(gh, {
    api, listOf, say, sayIn, textEl, fact, visible, Refusal, clearErrors, fieldFor, formError, checkRequired, move, forms,
    estateParts, estateInstant,
  });
})();
