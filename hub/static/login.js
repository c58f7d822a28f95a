// A login link may carry the token in its fragment (#token=...), which the browser never
// sends to any server or writes to a log: the demo prints one. Take it and wipe it from the
// address bar and history. Signed out: sign in with it. Already signed in: ask first, since
// following someone else's link must not silently replace the session in use.
(function () {
  var question = document.getElementById("replace-session");
  var field = document.getElementById("token");
  var pending = null;

  function signIn() {
    field.value = pending;
    field.form.submit();
  }

  function take() {
    var m = /^#token=([A-Za-z0-9_\-]+)$/.exec(window.location.hash);
    if (!m) return;
    history.replaceState(null, "", window.location.pathname);
    pending = m[1];
    if (!question) {
      signIn();
      return;
    }
    question.hidden = false;
    document.getElementById("replace-no").focus();
  }

  if (question) {
    document.getElementById("replace-yes").addEventListener("click", signIn);
    document.getElementById("replace-no").addEventListener("click", function () {
      pending = null;
      question.hidden = true;
    });
  }
  window.addEventListener("hashchange", take);  // a link followed while this page is open
  take();
})();
