// careflow console: the only script. Moves focus to an error summary so screen readers and
// keyboards land on it, and disables a submit button once its form is sent (the hidden
// idempotency key makes a second send harmless anyway).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary") || document.getElementById("login-error");
  if (summary) { summary.focus(); }
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
      window.setTimeout(function () { if (button) { button.disabled = false; } }, 8000);
    });
  });
});
