// Submit a batch: send the form with XMLHttpRequest to show upload progress in bytes,
// then open the batch's page. Without this file the form posts normally and redirects.
(function () {
  "use strict";
  function size(n) {
    if (n < 1000) { return n + " bytes"; }
    var units = ["kB", "MB", "GB", "TB"], i = -1;
    do { n /= 1000; i += 1; } while (n >= 1000 && i < units.length - 1);
    return n.toFixed(1) + " " + units[i];
  }
  Strongroom.feature("form[data-upload]", function (form) {
    var box = form.querySelector("[data-upload-progress]");
    var bar = form.querySelector("progress");
    var status = form.querySelector("#upload-status");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      // The same parts a browser sends without script: fields first, then the files
      // named by their path inside the picked folder.
      var data = new FormData();
      ["csrf", "collection", "description"].forEach(function (name) {
        data.append(name, form.elements[name].value);
      });
      Array.prototype.forEach.call(form.elements.folder.files, function (file) {
        data.append("file", file, file.webkitRelativePath || file.name);
      });
      Array.prototype.forEach.call(form.elements.archive.files, function (file) {
        data.append("archive", file, file.name);
      });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      box.hidden = false;
      bar.hidden = false;
      button.disabled = true;
      status.textContent = "Starting the upload…";
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.max = e.total;
          bar.value = e.loaded;
          status.textContent = size(e.loaded) + " of " + size(e.total) + " sent";
        } else {
          bar.removeAttribute("value");
          status.textContent = size(e.loaded) + " sent";
        }
      });
      xhr.upload.addEventListener("load", function () {
        status.textContent = "Sent. Checking the files and registering the batch…";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 200 && xhr.responseURL.indexOf("/console/batches/") !== -1) {
          window.location.assign(xhr.responseURL);
          return;
        }
        // A refusal: show the page's own explanation of it in place of the old one.
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var fresh = page.querySelector("#submit-errors");
        var here = document.querySelector("#submit-errors");
        if (fresh && here) {
          here.replaceWith(document.importNode(fresh, true));
          var alert = document.querySelector("#submit-errors [role=alert]");
          if (alert) { alert.focus(); }
          box.hidden = true;
        } else {
          // No explanation of its own (a lost session, a proxy's error page): the
          // words stay in sight, where the progress was.
          bar.hidden = true;
          var problem = page.querySelector(".problem, [role=alert]");
          if (xhr.responseURL.indexOf("/console/sign-in") !== -1) {
            // The session ended while the files were on their way: nothing was kept.
            status.textContent = "Your session ended, so nothing was kept. Sign in again " +
              "(in another tab, to keep this page), then send the batch again.";
          } else if (problem && problem.textContent.trim()) {
            status.textContent = problem.textContent.trim().replace(/\s+/g, " ");
          } else {
            status.textContent = "The upload was refused (" + xhr.status + "). Reload the page and try again.";
          }
        }
        button.disabled = false;
      });
      xhr.addEventListener("error", function () {
        status.textContent = "The upload was cut off before it finished. Nothing was registered; send it again.";
        button.disabled = false;
      });
      xhr.send(data);
    });
  });
})();
