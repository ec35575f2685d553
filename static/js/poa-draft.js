// Keeps a draft of the Create POA form on the server while the seller writes, so a lost
// session or a closed tab loses nothing. Without JavaScript the "Save draft" button does it.
(function () {
  "use strict";
  var form = document.getElementById("poa-form");
  if (!form || !window.fetch) {
    return;
  }
  var status = document.getElementById("poa-autosave-status");
  var fields = ["root_cause", "corrective_actions", "preventive_measures", "timeframe"];
  var dirty = false;
  var submitting = false;

  form.addEventListener("input", function () {
    dirty = true;
  });
  // The form's own submit saves or submits everything: no autosave may race it (it could
  // recreate the draft the submission deletes).
  form.addEventListener("submit", function () {
    submitting = true;
    dirty = false;
  });

  function draftBody() {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    fields.forEach(function (name) {
      var field = form.querySelector("[name=" + name + "]");
      body.append(name, field ? field.value : "");
    });
    return body;
  }

  function save() {
    if (!dirty || submitting) {
      return;
    }
    dirty = false;
    fetch(form.dataset.draftUrl, { method: "POST", body: draftBody(), credentials: "same-origin" })
      .then(function (response) {
        if (status && response.ok) {
          status.textContent = status.dataset.saved;
        }
      })
      .catch(function () {
        dirty = true;  // try again next time
      });
  }

  window.setInterval(save, 10000);
  // Leaving the page without submitting: hand the draft to the browser to deliver.
  window.addEventListener("pagehide", function () {
    if (dirty && !submitting && navigator.sendBeacon) {
      navigator.sendBeacon(form.dataset.draftUrl, draftBody());
    }
  });
})();
