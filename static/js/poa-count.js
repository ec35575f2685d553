// Under each answer with a minimum length (data-min-length), a live count of its characters
// ("37 of at least 80 characters"), so the minimum is met before submitting, not after a
// refusal. The words come from the page (data-count-template), in its language.
(function () {
  "use strict";
  var form = document.getElementById("poa-form");
  if (!form) {
    return;
  }
  var template = form.dataset.countTemplate;
  form.querySelectorAll("textarea[data-min-length]").forEach(function (field) {
    var minimum = parseInt(field.dataset.minLength, 10);
    var counter = document.createElement("div");
    counter.className = "form-text portal-char-count";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    function update() {
      var length = field.value.trim().length;
      counter.textContent = template.replace("%(length)s", length).replace("%(minimum)s", minimum);
      counter.classList.toggle("text-success", length >= minimum);
    }
    field.addEventListener("input", update);
    update();
  });
})();
