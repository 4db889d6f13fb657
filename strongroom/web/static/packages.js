// Package page: a Copy button beside each digest (selecting the digest works without it).
(function () {
  "use strict";
  if (!window.Strongroom || !navigator.clipboard) { return; }
  Strongroom.feature("code[data-copy]", function (code) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary copy";
    button.textContent = "Copy";
    var label = (code.closest("dd") && code.closest("dd").previousElementSibling) ?
      code.closest("dd").previousElementSibling.textContent : "digest";
    button.setAttribute("aria-label", "Copy the " + label + " digest");
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent.trim()).then(function () {
        button.textContent = "Copied";
        status.textContent = label + " digest copied";
        setTimeout(function () { button.textContent = "Copy"; status.textContent = ""; }, 2000);
      });
    });
    code.insertAdjacentElement("afterend", button);
    button.insertAdjacentElement("afterend", status);
  });
})();
