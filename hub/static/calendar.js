// The working calendar's page: one year's public holidays and make-up working days, the
// working hours, a day set or removed, and the year taken from chinesecalendar. It reads and
// writes /api/v1/calendar (hub/workcal/views.py) with the session cookie; the DOM is built
// with textContent only, and every word is the reader's language (gh.t).
"use strict";
(function () {
  const t = gh.t;
  const $ = function (id) { return document.getElementById(id); };
  const KINDS = { holiday: t("public holiday"), workday: t("make-up working day") };
  const WEEKDAYS = [t("Monday"), t("Tuesday"), t("Wednesday"), t("Thursday"), t("Friday"), t("Saturday"), t("Sunday")];
  let shown = null;

  const api = gh.api;  // hub/static/forms.js

  const el = gh.textEl;  // el(tag, text, cls): hub/static/forms.js

  const say = gh.sayIn;  // say(id, text, bad): hub/static/forms.js

  // ISO weekday of a date (1 Monday ... 7 Sunday), whatever the browser's timezone
  function isoWeekday(iso) {
    const d = new Date(iso + "T00:00:00Z").getUTCDay();
    return d === 0 ? 7 : d;
  }

  function dayLine(day) {
    const li = el("li", null, day.kind);
    li.dataset.date = day.date;
    li.appendChild(el("span", day.date + " " + WEEKDAYS[isoWeekday(day.date) - 1], "date"));
    li.appendChild(el("span", KINDS[day.kind] || day.kind, "kind"));
    li.appendChild(el("span", day.label || day.name, "name"));
    li.appendChild(el("span", day.source === "seed" ? t("from chinesecalendar")
      : t("set by {who} at {at}", { who: day.changed_by, at: gh.instant(day.changed_at, false) }), "source"));
    const remove = el("button", t("Remove"));
    remove.type = "button";
    remove.setAttribute("aria-label", t("Remove {date} from the calendar", { date: day.date }));
    remove.addEventListener("click", function () { removeDay(day.date); });
    li.appendChild(remove);
    return li;
  }

  function draw(data) {
    shown = data.year;
    $("year").value = data.year;
    $("hours").textContent = t("{periods}, on {weekdays}", {
      periods: data.working_periods.join(", "),
      weekdays: data.working_weekdays.map(function (d) { return WEEKDAYS[d - 1]; }).join(", "),
    });
    $("seeded").textContent = data.seeded
      ? t("{year} taken from {package} at {at}.", { year: data.year, package: data.seeded.package, at: gh.instant(data.seeded.seeded_at, false) })
      : t("{year} has not been taken from chinesecalendar.", { year: data.year });
    const list = $("days");
    list.replaceChildren.apply(list, data.days.map(dayLine));
    $("days-none").hidden = data.days.length > 0;
    list.dataset.drawn = String(data.year);
  }

  async function load(year) {
    try {
      draw(await api("GET", "/api/v1/calendar?year=" + encodeURIComponent(year)));
      say("cal-state", "");
    } catch (e) {
      say("cal-state", e.message, true);
    }
  }

  async function removeDay(date) {
    try {
      await api("DELETE", "/api/v1/calendar/days/" + encodeURIComponent(date));
      await load(shown);
      say("cal-state", t("{date} removed: it follows the working weekdays again.", { date: date }));
    } catch (e) {
      say("cal-state", e.message, true);
    }
  }

  $("year-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    load($("year").value);
  });

  $("seed").addEventListener("click", async function () {
    try {
      const r = await api("POST", "/api/v1/calendar/seed/" + encodeURIComponent(shown));
      await load(shown);
      say("cal-state", t("{year}: {holidays} holidays and {workdays} make-up working days taken; {kept} days set by a person kept.",
        { year: r.year, holidays: r.holidays, workdays: r.workdays, kept: r.kept_by_person }));
    } catch (e) {
      say("cal-state", e.message, true);
    }
  });

  $("day-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const date = $("day-date").value;
    const name = $("day-name").value.trim();
    if (!date || !name) {
      say("day-result", t("Give the date and the day's name."), true);
      (date ? $("day-name") : $("day-date")).focus();
      return;
    }
    const body = { kind: $("day-kind").value, name: name };
    if ($("day-reason").value.trim()) body.reason = $("day-reason").value.trim();
    try {
      const r = await api("PUT", "/api/v1/calendar/days/" + encodeURIComponent(date), body);
      say("day-result", t("{date} saved: {kind}.", { date: r.date, kind: KINDS[r.kind] }));
      $("day-name").value = "";
      $("day-reason").value = "";
      await load(date.slice(0, 4));
    } catch (e) {
      say("day-result", e.message, true);
    }
  });

  load($("year").value);
})();
