// Order status page: polls the small JSON endpoint and updates the text in place (no reload).
// Receipt page: the Print button.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });

  // Every order on the page that is still waiting or renewing polls its own status (no reload).
  function watch(box) {
    var url = box.getAttribute("data-status-url");
    var text = box.querySelector("[data-order-text]");
    var badge = box.querySelector("[data-order-badge]");
    var spinner = box.querySelector("[data-order-spinner]");
    var pay = box.querySelector("[data-order-pay]");
    var receipt = box.querySelector("[data-order-receipt]");
    var esim = box.querySelector("[data-order-esim]");
    var started = Date.now();

    function show(link, href) {
      if (!link) {
        return;
      }
      if (href) {
        link.setAttribute("href", href);
        link.hidden = false;
      } else {
        link.hidden = true;
      }
    }

    function render(data) {
      box.setAttribute("data-state", data.state);
      if (text) {
        text.textContent = data.message;
      }
      if (badge) {
        badge.textContent = data.status_label;
        badge.className = "badge badge-" + data.state;
      }
      if (spinner && data.finished) {
        spinner.remove();
        spinner = null;
      }
      show(pay, data.pay_url);
      show(receipt, data.receipt_url);
      show(esim, data.esim_url);
      (data.steps || []).forEach(function (step) {
        var item = box.querySelector('[data-step="' + step.key + '"]');
        if (!item) {
          return;
        }
        item.classList.toggle("is-done", step.done);
        var time = item.querySelector("[data-step-time]");
        if (time) {
          time.textContent = step.note || (step.done ? step.at : "…");
        }
      });
      var note = box.querySelector("[data-network-note]");
      if (note) {
        note.textContent = data.network_note || "";
        note.hidden = !data.network_note;
        var warn = data.network_state === "late" || data.network_state === "failed";
        note.classList.toggle("alert", warn);
        note.classList.toggle("alert-warning", warn);
        note.classList.toggle("muted", !warn);
      }
    }

    function delay() {
      // Every 700 ms for the first minute (renewal takes about a second), then back off.
      var elapsed = Date.now() - started;
      if (elapsed < 60000) {
        return 700;
      }
      return Math.min(30000, 5000 + elapsed / 20);
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          render(data);
          if (!data.finished) {
            window.setTimeout(poll, delay());
          }
        })
        .catch(function () {
          window.setTimeout(poll, Math.max(delay(), 3000));
        });
    }

    // Waiting for the payment, the renewal, or the network's confirmation.
    if (box.getAttribute("data-finished") !== "true") {
      window.setTimeout(poll, 300);
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-order-status]"), watch);
})();
