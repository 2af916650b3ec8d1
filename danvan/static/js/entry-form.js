// The entry form: character counters, a warning for characters the official documents cannot
// print, and focus on the error summary or the conflict after a refused save. The form works
// the same without it: the server states the limits and checks everything again.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) { return; }

  function vnNumber(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  // Count characters the way the server does (code points after NFC), not UTF-16 units.
  function length(text) {
    return Array.from(text.normalize("NFC").replace(/\r\n?/g, "\n")).length;
  }

  function updateCount(input) {
    var out = document.getElementById(input.id + "-count");
    if (!out) { return; }
    var limit = parseInt(input.dataset.limit, 10);
    var typed = length(input.value);
    var text = out.dataset.limitText;
    if (typed) { text += " · đã nhập " + vnNumber(typed); }
    var over = typed > limit;
    if (over) { text += ", vượt " + vnNumber(typed - limit) + " ký tự — hãy rút gọn trước khi lưu"; }
    out.textContent = text + ".";
    out.classList.toggle("is-over", over);
  }

  var unprintable = null;
  try {
    unprintable = new RegExp(form.dataset.unprintable + "+", "gu");
  } catch (e) {
    unprintable = null;  // an old browser without Unicode escapes: the server still warns
  }

  function updatePrint(input) {
    var out = document.getElementById(input.id + "-print");
    if (!out || !unprintable) { return; }
    var found = input.value.match(unprintable) || [];
    var distinct = found.filter(function (x, i) { return found.indexOf(x) === i; });
    out.querySelector(".unprintable-chars").textContent = distinct.join(" ");
    out.hidden = distinct.length === 0;
  }

  form.querySelectorAll("[data-limit]").forEach(function (input) {
    input.addEventListener("input", function () { updateCount(input); });
    updateCount(input);
  });
  form.querySelectorAll("[data-check-print]").forEach(function (input) {
    input.addEventListener("input", function () { updatePrint(input); });
    updatePrint(input);
  });

  // After a refused save, start where the problem is explained.
  var first = document.getElementById("conflict") || document.getElementById("error-summary");
  if (first) { first.focus(); }
})();
