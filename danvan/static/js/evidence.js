// Evidence upload widget: several files at once, drag and drop, one request and one progress
// bar per file. Each file goes to the staging URL as soon as it is chosen; the answer is a
// token the form posts back ("staged"), and the server attaches the files when the form is
// saved (mode "form", the entry form) or at once (mode "direct", the entry page, which sends
// its form by itself when every file is up). Without JavaScript the plain file input is
// posted with the form and nothing here runs.
(function () {
  "use strict";
  var box = document.getElementById("evidence");
  if (!box || !window.FormData || !window.XMLHttpRequest || !window.Array.from) { return; }
  var form = box.closest("form");
  var input = box.querySelector(".evidence-input");
  var list = box.querySelector(".evidence-list");
  var drop = box.querySelector(".evidence-drop");
  var message = box.querySelector(".evidence-message");
  var direct = box.dataset.mode === "direct";
  var maxBytes = parseInt(box.dataset.maxBytes, 10);
  var free = parseInt(box.dataset.free, 10);
  var accept = box.dataset.accept.toLowerCase().split(",");
  var csrf = form.querySelector("input[name=csrf_token]");
  var waitNote = form.querySelector(".upload-wait") || document.querySelector(".upload-wait");
  var pending = 0;
  var waiting = null; // the save that waits for the uploads: {submitter}

  box.classList.add("is-enhanced");
  box.querySelector(".evidence-drop-text").hidden = false;

  function sizeText(size) {
    var mb = 1024 * 1024;
    var value = Math.max(0.1, size >= mb ? size / mb : size / 1024);
    var text = (Math.round(value * 10) / 10).toString().replace(".", ",");
    return text + (size >= mb ? " MB" : " KB");
  }

  function used() {
    return list.querySelectorAll(
      ".evidence-item.is-uploading, .evidence-item.is-done input[name=staged]:checked, " +
      ".evidence-item.is-done input[type=hidden][name=staged]"
    ).length;
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text) { el.textContent = text; }
    return el;
  }

  function newItem(name, size) {
    var li = element("li", "evidence-item");
    var item = {
      li: li,
      name: element("span", "evidence-name", name),
      size: element("span", "evidence-size", size),
      bar: element("progress", ""),
      status: element("span", "evidence-status", ""),
      remove: element("button", "btn btn-link btn-sm p-0 evidence-action", "Bỏ"),
    };
    item.bar.max = 100;
    item.bar.value = 0;
    item.bar.setAttribute("aria-label", "Tiến độ tải lên " + name);
    item.remove.type = "button";
    item.remove.setAttribute("aria-label", "Bỏ tệp " + name);
    [item.name, item.size, item.bar, item.status, item.remove].forEach(function (el) {
      li.appendChild(el);
    });
    list.appendChild(li);
    return item;
  }

  function refuse(name, size, reason) {
    var item = newItem(name, size);
    item.li.classList.add("is-error");
    item.bar.remove();
    item.status.textContent = reason;
    item.remove.addEventListener("click", function () { item.li.remove(); });
  }

  function reasonFor(xhr, data) {
    if (data && data.error) { return data.error; }
    if (xhr.status === 413) {
      return "Tệp vượt quá dung lượng cho phép (tối đa " + box.dataset.maxSizeText + ").";
    }
    if (xhr.status === 0) { return "Mất kết nối khi tải lên; vui lòng thử lại."; }
    return "Phiên làm việc đã hết hạn hoặc hệ thống gặp lỗi; vui lòng tải lại trang rồi thử lại.";
  }

  function upload(file) {
    var item = newItem(file.name, sizeText(file.size));
    var xhr = new XMLHttpRequest();
    var finished = false;
    item.li.classList.add("is-uploading");
    item.status.textContent = "Đang tải lên 0%";
    pending += 1;

    function finish() {
      if (finished) { return; }
      finished = true;
      item.li.classList.remove("is-uploading");
      pending -= 1;
      if (pending === 0) { allDone(); }
    }

    xhr.upload.addEventListener("progress", function (ev) {
      if (!ev.lengthComputable) { return; }
      var percent = Math.min(99, Math.round((ev.loaded / ev.total) * 100));
      item.bar.value = percent;
      item.status.textContent = "Đang tải lên " + percent + "%";
    });
    xhr.addEventListener("load", function () {
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status === 200 && data && data.token) {
        var token = element("input");
        token.type = "hidden";
        token.name = "staged";
        token.value = data.token;
        item.li.appendChild(token);
        item.li.classList.add("is-done");
        item.name.textContent = data.name;
        item.bar.value = 100;
        item.status.textContent = direct ? "Đã tải lên" : "Đã tải lên, sẽ đính kèm khi lưu hồ sơ";
      } else {
        item.li.classList.add("is-error");
        item.bar.remove();
        item.status.textContent = "Không tải lên được: " + reasonFor(xhr, data);
      }
      finish();
    });
    xhr.addEventListener("error", function () {
      item.li.classList.add("is-error");
      item.bar.remove();
      item.status.textContent = "Không tải lên được: " + reasonFor(xhr, null);
      finish();
    });
    xhr.addEventListener("abort", finish);
    item.remove.addEventListener("click", function () {
      if (!finished) { xhr.abort(); }
      item.li.remove();
    });

    var body = new FormData();
    body.append("csrf_token", csrf.value);
    body.append("file", file, file.name);
    xhr.open("POST", box.dataset.stageUrl);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.send(body);
  }

  function addFiles(files) {
    message.textContent = "";
    Array.from(files).forEach(function (file) {
      var dot = file.name.lastIndexOf(".");
      var ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
      var size = sizeText(file.size);
      if (accept.indexOf(ext) < 0) {
        refuse(file.name, size, "Không nhận loại tệp này; chỉ nhận " + accept.join(", ") + ".");
      } else if (file.size > maxBytes) {
        refuse(file.name, size, "Vượt quá " + box.dataset.maxSizeText + " mỗi tệp.");
      } else if (file.size === 0) {
        refuse(file.name, size, "Tệp rỗng.");
      } else if (used() >= free) {
        refuse(file.name, size, "Mỗi hồ sơ chỉ được đính kèm tối đa " +
          box.dataset.maxFiles + " tệp.");
      } else {
        upload(file);
      }
    });
    input.value = ""; // the files are on their way: the form must not post them again
  }

  function send(submitter) {
    waiting = null;
    if (waitNote) { waitNote.hidden = true; }
    if (form.requestSubmit) {
      if (submitter) { form.requestSubmit(submitter); } else { form.requestSubmit(); }
    } else {
      form.submit();
    }
  }

  function allDone() {
    var ready = list.querySelector(".evidence-item.is-done input[name=staged]");
    if (waiting) {
      send(waiting.submitter);
    } else if (direct && ready) {
      send(null);
    }
  }

  input.addEventListener("change", function () { addFiles(input.files); });

  ["dragenter", "dragover"].forEach(function (type) {
    box.addEventListener(type, function (ev) {
      ev.preventDefault();
      drop.classList.add("is-dragover");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    box.addEventListener(type, function (ev) {
      ev.preventDefault();
      if (type === "drop" || !box.contains(ev.relatedTarget)) {
        drop.classList.remove("is-dragover");
      }
    });
  });
  box.addEventListener("drop", function (ev) {
    if (ev.dataTransfer && ev.dataTransfer.files.length) { addFiles(ev.dataTransfer.files); }
  });

  // Registered before app.js's handler: a save waits for the uploads still running.
  document.addEventListener("submit", function (ev) {
    if (ev.target !== form) { return; }
    if (pending > 0) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      waiting = { submitter: ev.submitter || null };
      if (waitNote) { waitNote.hidden = false; }
      return;
    }
    if (direct && !list.querySelector("input[name=staged]")) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      message.textContent = "Vui lòng chọn hoặc kéo thả tệp để tải lên.";
    }
  }, true);
})();
