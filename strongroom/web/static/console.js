// Strongroom console: small progressive enhancements. Every page works without this file.
// Each feature looks for its own data-* attribute; nothing runs on a page without it.
(function () {
  "use strict";
  var features = [];
  window.Strongroom = {
    // feature(selector, fn): run fn(element) for each element matching selector once the page is read
    feature: function (selector, fn) { features.push([selector, fn]); }
  };
  document.addEventListener("DOMContentLoaded", function () {
    features.forEach(function (pair) {
      document.querySelectorAll(pair[0]).forEach(function (el) { pair[1](el); });
    });
  });
})();

// A "Copy" button beside a secret shown once (data-copy names the field): shown
// only where script runs, and said when done; without it, select and copy by hand.
Strongroom.feature("button[data-copy]", function (button) {
  var field = document.getElementById(button.getAttribute("data-copy"));
  var said = button.parentNode.querySelector("[data-copied]");
  if (!field) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    field.select();
    var done = function () { if (said) { said.textContent = "Copied."; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        if (said) { said.textContent = "Select the token and copy it by hand."; }
      });
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    } else if (said) {
      said.textContent = "Select the token and copy it by hand.";
    }
  });
});

// A form that deletes for good asks once more (data-confirm holds the question).
Strongroom.feature("form[data-confirm]", function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
});
