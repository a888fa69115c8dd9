// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  // A select marked data-autosubmit sends its form once picked with a finger or a mouse. Keyboard
  // users move through the options with the arrow keys, so for them nothing happens until they
  // press the form's own button (WCAG 3.2.2, on input).
  var pickedByPointer = false;
  document.addEventListener("pointerdown", function (event) {
    pickedByPointer = Boolean(event.target.closest && event.target.closest("select[data-autosubmit]"));
  });
  document.addEventListener("keydown", function () {
    pickedByPointer = false;
  });
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (pickedByPointer && select.matches && select.matches("select[data-autosubmit]") && select.form) {
      select.form.submit();
    }
  });

  // The installable app (static/sw.js). <html data-offline> says what this page means for the copy
  // this device keeps: "keep" (signed in), "forget" (nobody signed in: drop the snapshot), "page"
  // (the offline page itself). The dashboard embeds its snapshot as JSON (#offline-snapshot).
  var PERSONAL = "portal-personal";
  var SNAPSHOT = "/offline/snapshot.json";
  var root = document.documentElement;
  var mode = root.getAttribute("data-offline");

  function forget() {
    if ("caches" in window) {
      return caches.delete(PERSONAL).catch(function () {});
    }
    return Promise.resolve();
  }

  if (mode === "forget") {
    forget();
  }
  var snapshot = document.getElementById("offline-snapshot");
  if (snapshot && mode === "keep" && "caches" in window) {
    caches
      .open(PERSONAL)
      .then(function (cache) {
        return cache.put(
          SNAPSHOT,
          new Response(snapshot.textContent, { headers: { "Content-Type": "application/json" } })
        );
      })
      .catch(function () {});
  }
  // Logging out, everywhere or not, and deleting the account: forget first, then send the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-offline-forget") && !form.dataset.forgotten) {
      event.preventDefault();
      form.dataset.forgotten = "1";
      var submitter = event.submitter;
      forget().then(function () {
        if (form.requestSubmit) {
          form.requestSubmit(submitter || undefined);
        } else {
          form.submit();
        }
      });
    }
  });
  var worker = root.getAttribute("data-sw");
  if (worker && "serviceWorker" in navigator && mode !== "page") {
    navigator.serviceWorker.register(worker, { scope: "/" }).catch(function () {});
  }
})();
