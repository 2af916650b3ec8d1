// The report page's "Đang chờ ký bằng USB token…" box: polls the request's status and
// reloads the page once the signing agent has signed (or the request expired or was cancelled).
(function () {
  "use strict";
  var box = document.getElementById("signature-request");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var every = 3000;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && data.state !== "pending") {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, every * 3); });
  }
  window.setTimeout(poll, every);
})();
