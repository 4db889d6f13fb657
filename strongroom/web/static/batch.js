// Batch page: follow the items live. Every few seconds the live part of the page
// (/console/batches/{id}/progress) is fetched and put in place, until every item is
// final. Without this file, the page's "Refresh" link shows the same.
(function () {
  "use strict";
  var EVERY = 1500;
  Strongroom.feature("[data-batch-progress]", function () {
    function tick() {
      var current = document.querySelector("[data-batch-progress]");
      if (!current || current.getAttribute("data-done") === "yes") { return; }
      fetch(current.getAttribute("data-batch-progress"), {credentials: "same-origin", cache: "no-store"})
        .then(function (reply) {
          if (!reply.ok) { throw new Error("status " + reply.status); }
          return reply.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-batch-progress]");
          if (!fresh) { return; }
          // The status line stays the same element, so that screen readers announce its new words.
          var state = current.querySelector("#batch-state");
          var newState = fresh.querySelector("#batch-state");
          if (state && newState && state.textContent !== newState.textContent) {
            state.textContent = newState.textContent;
            state.className = newState.className;
          }
          var body = current.querySelector("#batch-body");
          var newBody = fresh.querySelector("#batch-body");
          if (body && newBody && body.innerHTML !== newBody.innerHTML) {
            body.replaceWith(document.importNode(newBody, true));
          }
          current.setAttribute("data-done", fresh.getAttribute("data-done"));
        })
        .catch(function () { /* try again at the next tick; the Refresh link still works */ })
        .then(function () { window.setTimeout(tick, EVERY); });
    }
    window.setTimeout(tick, EVERY);
  });
})();
