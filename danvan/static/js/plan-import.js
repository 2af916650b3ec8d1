// "Nhập kế hoạch từ văn bản": refuse a file over 10 MB before it is sent, so that nothing typed
// is lost (the server refuses it too). Listens on window, in the capture phase, so that it runs
// before app.js marks the form as sent.
(function () {
  "use strict";
  var form = document.getElementById("plan-upload-form");
  if (!form) { return; }
  var input = form.querySelector("input[type=file]");
  var out = document.getElementById(input.id + "-size-error");
  var max = parseInt(form.dataset.maxBytes, 10);

  function check() {
    var file = input.files && input.files[0];
    var tooBig = Boolean(file) && file.size > max;
    out.textContent = tooBig
      ? "Tệp “" + file.name + "” lớn hơn 10 MB, quá dung lượng cho phép của kế hoạch; hãy chọn tệp nhỏ hơn hoặc dán nội dung."
      : "";
    input.classList.toggle("is-invalid", tooBig);
    if (tooBig) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    return !tooBig;
  }

  input.addEventListener("change", check);
  window.addEventListener("submit", function (ev) {
    if (ev.target === form && !check()) {
      ev.preventDefault();
      ev.stopPropagation();
      input.focus();
    }
  }, true);
})();
