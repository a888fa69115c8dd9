// Copy buttons (the eSIM page's manual-entry values): <button data-copy="id-of-the-element" hidden>.
// Progressive enhancement: the buttons stay hidden where copying cannot work, the values can always
// be selected by hand. The page's [data-copy-status] live region says "Copied" in the page's
// language (its data-copied / data-failed attributes), so screen readers hear it too.
(function () {
  "use strict";

  var status = document.querySelector("[data-copy-status]");
  var canWrite = Boolean(window.isSecureContext && navigator.clipboard && navigator.clipboard.writeText);
  var canExec = Boolean(document.queryCommandSupported && document.queryCommandSupported("copy"));
  if (!canWrite && !canExec) {
    return;
  }

  function copyBySelection(element) {
    // For pages served over plain HTTP (a phone on the local network), where the Clipboard API is absent.
    var selection = window.getSelection();
    var range = document.createRange();
    range.selectNodeContents(element);
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    selection.removeAllRanges();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function announce(text) {
    if (!status) {
      return;
    }
    // Emptied first, so that copying the same value twice is announced twice.
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = text;
    }, 50);
  }

  function confirm(button, text) {
    var label = button.querySelector("[data-copy-label]");
    if (!label) {
      return;
    }
    if (!button.dataset.copyOriginal) {
      button.dataset.copyOriginal = label.textContent;
    }
    label.textContent = text;
    window.clearTimeout(Number(button.dataset.copyTimer || 0));
    button.dataset.copyTimer = String(
      window.setTimeout(function () {
        label.textContent = button.dataset.copyOriginal;
      }, 2500)
    );
  }

  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var value = document.getElementById(button.getAttribute("data-copy"));
    if (!value) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = value.textContent.trim();
      var copying = canWrite ? navigator.clipboard.writeText(text) : copyBySelection(value);
      copying
        .catch(function () {
          return canExec ? copyBySelection(value) : Promise.reject(new Error("no clipboard"));
        })
        .then(
          function () {
            var copied = status ? status.getAttribute("data-copied") : "";
            confirm(button, copied);
            announce(copied);
          },
          function () {
            announce(status ? status.getAttribute("data-failed") : "");
          }
        );
    });
  });
})();
