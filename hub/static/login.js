// A secret never belongs in an address: an old "/login#token=..." link signs nobody in. Its
// token is wiped from the address bar and this page's history entry at once, and the page
// says how to sign in instead.
(function () {
  if (!/^#token=/.test(window.location.hash)) return;
  history.replaceState(null, "", window.location.pathname);
  var notice = document.getElementById("link-refused");
  notice.textContent = gh.t("A link with a token in it does not sign in: sign in with your username and password.");
  notice.hidden = false;
})();
