// Report pages: the "Ký duyệt" / "Phát hành" confirmation dialog and the preview's progress.
// Without JavaScript the links lead to the confirmation page and the preview page reloads
// itself, so both still work (the CSP allows no inline script).
(function () {
  "use strict";

  // Confirmation: a link to the confirmation step opens the same step in a <dialog>.
  document.querySelectorAll("a[data-dialog]").forEach(function (link) {
    var dialog = document.getElementById(link.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") {
      return; // an old browser follows the link to the confirmation page
    }
    link.addEventListener("click", function (ev) {
      ev.preventDefault();
      dialog.showModal();
      var submit = dialog.querySelector("button[type=submit]");
      if (submit) { submit.focus(); }
    });
    dialog.querySelectorAll("[data-close-dialog]").forEach(function (button) {
      button.addEventListener("click", function () { dialog.close(); link.focus(); });
    });
    // A click on the backdrop (outside the dialog's box) closes it, like "Hủy".
    dialog.addEventListener("click", function (ev) {
      if (ev.target !== dialog) { return; }
      var r = dialog.getBoundingClientRect();
      var inside = ev.clientX >= r.left && ev.clientX <= r.right &&
                   ev.clientY >= r.top && ev.clientY <= r.bottom;
      if (!inside) { dialog.close(); }
    });
  });

  // Preview: poll the status URL, move the progress bar, reload once the pages are there.
  var box = document.getElementById("preview-status");
  if (!box) { return; }
  var bar = document.getElementById("preview-progress");
  var note = document.getElementById("preview-note");
  var url = box.dataset.statusUrl;
  var started = Date.now() - 1000 * (parseFloat(box.dataset.elapsed) || 0);
  var expected = parseFloat(box.dataset.expected) || 4;
  var failures = 0;

  function seconds() { return (Date.now() - started) / 1000; }

  function show() {
    // Up to 90 % over the expected time, then creeping towards 99 %: never "done" early.
    var t = seconds();
    var share = t <= expected ? 90 * t / expected : 99 - 9 * Math.exp((expected - t) / expected);
    bar.value = Math.min(99, Math.max(2, share));
    bar.textContent = Math.round(bar.value) + "%";
    note.textContent = "Đã chờ " + Math.floor(t) + " giây; LibreOffice thường mất khoảng " +
      Math.round(expected) + " giây. Trang sẽ tự hiện ảnh khi xong.";
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (data.status !== "rendering" || data.changed) {
          bar.value = 100;
          window.location.reload();
          return;
        }
        expected = data.expected || expected;
        window.setTimeout(poll, 700);
      })
      .catch(function () {
        failures += 1;
        note.textContent = "Mất kết nối tới máy chủ, đang thử lại…";
        window.setTimeout(poll, Math.min(10000, 1000 * failures));
      });
  }

  show();
  window.setInterval(show, 250);
  window.setTimeout(poll, 500);
})();
