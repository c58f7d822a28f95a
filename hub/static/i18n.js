// The page scripts' words and the estate's ways, from the page itself (hub/web/shell.py puts
// them in #page-i18n): gh.t("msgid", {name: ...}) is the text in the reader's language,
// gh.instant(iso) a time the estate's way (24-hour, the estate's timezone), gh.yuan(fen)
// money from integer fen. Every script of the hub's pages says things through these.
(function () {
  var data = JSON.parse(document.getElementById("page-i18n").textContent);
  var formats = {};

  function t(msgid, params) {
    var text = Object.prototype.hasOwnProperty.call(data.messages, msgid) ? data.messages[msgid] : msgid;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : all;
    });
  }

  function format(seconds) {
    var key = seconds ? "s" : "m";
    if (!formats[key]) {
      var opts = {timeZone: data.tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
                  minute: "2-digit", hourCycle: "h23"};
      if (seconds) opts.second = "2-digit";
      formats[key] = new Intl.DateTimeFormat("en-CA", opts);  // parts only: the layout is ours, below
    }
    return formats[key];
  }

  // 2026-11-29 14:05:09 in the estate's timezone, whatever the browser's language
  function instant(iso, seconds) {
    if (!iso) return "";
    var at = new Date(iso);
    if (isNaN(at)) return String(iso);
    var p = {};
    format(seconds !== false).formatToParts(at).forEach(function (x) { p[x.type] = x.value; });
    var text = p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
    return seconds === false ? text : text + ":" + p.second;
  }

  function yuan(fen) {
    if (fen === null || fen === undefined || fen === "") return "";
    var n = Number(fen), sign = n < 0 ? "-" : "";
    n = Math.abs(Math.round(n));
    var whole = String(Math.floor(n / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "¥" + whole + "." + String(n % 100).padStart(2, "0");
  }

  // "12.5" or "¥12.50" as typed into a money box, to integer fen; NaN if it is not money
  function fen(text) {
    var s = String(text).trim().replace(/^¥/, "").replace(/,/g, "");
    if (!/^\d+(\.\d{1,2})?$/.test(s)) return NaN;
    var parts = s.split(".");
    return Number(parts[0]) * 100 + Number((parts[1] || "").padEnd(2, "0"));
  }

  // what each kind of alarm (hub.alarms) is called, on every page that shows one
  var ALARMS = {
    door_forced: t("door forced open"), door_held: t("door held open"), gate_offline: t("gate offline"),
    device_degraded: t("reader or relay not working"), overstay: t("visitor overstaying"),
    watch_list_hit: t("watch-list hit"), remote_open_unacknowledged: t("remote open not acknowledged by the gate"),
    incident_overdue: t("incident not reported up in time"),
    calendar_year_missing: t("next year's holidays missing from the working calendar"),
    complaint_escalated: t("complaint escalated"),
  };
  function alarmWord(kind) {
    return Object.prototype.hasOwnProperty.call(ALARMS, kind) ? ALARMS[kind] : String(kind).replace(/_/g, " ");
  }

  window.gh = {t: t, instant: instant, yuan: yuan, fen: fen, alarmWord: alarmWord, lang: data.lang, tz: data.tz};
})();
