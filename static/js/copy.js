// A "Copy" button (data-copy="#id") copies the text of the element it names and says so in
// the nearest [data-copy-status]. Without the Clipboard API the text is selected instead.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.querySelector(button.dataset.copy);
    var status = button.closest("[data-shown-once]") || document;
    status = status.querySelector("[data-copy-status]");
    if (!source) {
      return;
    }
    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }
    function selectSource() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { say(button.dataset.copied); },
          function () { selectSource(); say(button.dataset.copyFailed); }
        );
      } else {
        selectSource();
        say(button.dataset.copyFailed);
      }
    });
  });
})();
