// Small progressive enhancements; every form also works without JavaScript.
(function () {
  "use strict";
  // One click, one submission: disable the buttons of a form once it is sent.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      ev.preventDefault();
      return;
    }
    if (form.classList.contains("upload-form") && !checkUpload(form)) {
      ev.preventDefault();
      return;
    }
    if (form.method.toLowerCase() === "post") {
      if (form.dataset.sent === "1") { ev.preventDefault(); return; }
      form.dataset.sent = "1";
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    }
  }, true);

  // Refuse oversized files before uploading them (the server refuses them too, with 413).
  function checkUpload(form) {
    var input = form.querySelector("input[type=file]");
    var out = form.querySelector(".upload-error, .evidence-message");
    var max = parseInt(form.dataset.maxBytes, 10);
    var left = parseInt(form.dataset.maxFiles, 10);
    var msgs = [];
    if (input.files.length > left) {
      msgs.push("Chỉ có thể tải thêm " + left + " tệp cho hồ sơ này.");
    }
    Array.prototype.forEach.call(input.files, function (f) {
      if (f.size > max) {
        msgs.push("Tệp “" + f.name + "” vượt quá dung lượng cho phép (20 MB).");
      }
    });
    if (out) { out.textContent = msgs.join(" "); }
    return msgs.length === 0;
  }

  // "Chọn tất cả" in inboxes.
  document.querySelectorAll(".select-all").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll("input[name=" + box.dataset.target + "]").forEach(function (b) {
        b.checked = box.checked;
      });
    });
  });
})();
