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
