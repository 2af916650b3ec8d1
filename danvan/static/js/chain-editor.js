// The approval chain editor (templates/campaign_admin/chain.html), a little quicker with
// JavaScript: the person select shows only for steps that name a person, the deputy step
// offers only Phó Giám đốc, and the help text follows the chosen kind. Without JavaScript
// every select stays visible and the server ignores the person of the other kinds.
(function () {
  "use strict";
  function update(row) {
    var kind = row.querySelector(".step-kind");
    var option = kind.options[kind.selectedIndex];
    var box = row.querySelector(".step-user");
    var user = box.querySelector("select");
    var help = row.querySelector(".step-help");
    var named = !!option && option.dataset.named === "1";
    var deputyOnly = kind.value === "deputy";
    box.hidden = !named;
    if (help && option) { help.textContent = option.dataset.help || ""; }
    Array.prototype.forEach.call(user.options, function (o) {
      o.disabled = deputyOnly && o.value !== "0" && !o.dataset.deputy;
    });
    Array.prototype.forEach.call(user.querySelectorAll("optgroup"), function (g) {
      g.hidden = deputyOnly && !g.querySelector("option[data-deputy]");
    });
    var chosen = user.options[user.selectedIndex];
    if (chosen && chosen.disabled) { user.value = "0"; }
  }
  document.querySelectorAll("#chain-steps .chain-step").forEach(function (row) {
    row.querySelector(".step-kind").addEventListener("change", function () { update(row); });
    update(row);
  });
  var target = document.querySelector("#chain-problems, #chain-preview, #error-summary");
  if (target && !document.querySelector("[autofocus]")) { target.focus(); }
})();
