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
})();
