// Finance export job: polls its JSON status and fills the progress bar until the file is ready.
(function () {
  "use strict";

  function start(section) {
    var url = section.getAttribute("data-status-url");
    var bar = section.querySelector("[data-export-progress]");
    var counter = section.querySelector("[data-export-counter]");
    var status = section.querySelector("[data-export-status]");
    var download = section.querySelector("[data-export-download]");
    var error = section.querySelector("[data-export-error]");

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (job) {
          bar.max = Math.max(job.rows_total, 1);
          bar.value = job.rows_done;
          bar.textContent = job.rows_done + " / " + job.rows_total;
          counter.textContent = job.rows_done + " / " + job.rows_total;
          status.textContent = job.status_label;
          if (job.status === "done" && job.download_url) {
            download.querySelector("a").href = job.download_url;
            download.hidden = false;
            return;
          }
          if (job.status === "failed") {
            error.textContent = job.error;
            error.hidden = false;
            return;
          }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }

    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-export-job]").forEach(start);
  });
})();
