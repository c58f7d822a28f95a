// A login link may carry the token in its fragment (#token=...), which the browser never
// sends to any server or writes to a log: the demo prints one. Take it, wipe it from the
// address bar and history, and sign in.
(function () {
  var m = /^#token=([A-Za-z0-9_\-]+)$/.exec(window.location.hash);
  if (!m) return;
  history.replaceState(null, "", window.location.pathname);
  var field = document.getElementById("token");
  field.value = m[1];
  field.form.submit();
})();
