// Halftone admin: small helpers shared by every admin page.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Series pickers submit themselves.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // Forms that need a confirmation.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
    });
  });

  // Select all pages.
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var scope = box.closest("table");
      var boxes = scope ? scope.querySelectorAll('tbody input[type="checkbox"]') : box.closest("form").querySelectorAll('input[name="ids"]');
      boxes.forEach(function (b) { b.checked = box.checked; });
    });
  });

  // Newsletter: keep the progress bars of mailings current while they send.
  var live = document.querySelector("[data-progress-url]");
  if (live) {
    var poll = function () {
      fetch(live.getAttribute("data-progress-url"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          var sending = false;
          data.mailings.forEach(function (m) {
            var row = live.querySelector('[data-mailing="' + m.id + '"]');
            if (!row) return;
            var p = m.progress;
            var bar = row.querySelector("progress");
            if (bar) { bar.value = p.percent; bar.textContent = p.percent + "%"; }
            var text = row.querySelector(".progress-text");
            if (text) {
              var parts = [p.sent + " of " + p.total + " sent"];
              if (p.failed) parts.push(p.failed + " failed");
              if (p.retrying) parts.push(p.retrying + " waiting to retry");
              if (p.skipped) parts.push(p.skipped + " skipped");
              if (p.cancelled) parts.push(p.cancelled + " cancelled");
              text.textContent = parts.join(", ") + (p.done ? " · done" : "");
            }
            if (!p.done) sending = true;
            else document.querySelectorAll('[data-hide-when-done="' + m.id + '"]').forEach(function (el) { el.hidden = true; });
          });
          if (sending) window.setTimeout(poll, 3000);
        })
        .catch(function () { window.setTimeout(poll, 10000); });
    };
    window.setTimeout(poll, 3000);
  }

  // "Move far": a row's ⇅ fills in the move form with its number.
  document.querySelectorAll("[data-move-far]").forEach(function (button) {
    button.addEventListener("click", function () {
      var number = document.querySelector("[data-move-number]");
      number.value = button.getAttribute("data-move-far");
      document.getElementById("move-tool").open = true;
      document.getElementById("move").scrollIntoView({ block: "center" });
      document.querySelector("[data-move-position]").focus();
    });
  });

  // An image field (a portrait, the logo): uploaded through the media pipeline at once;
  // the form then saves its media id.
  document.querySelectorAll("[data-image-form]").forEach(function (form) {
    var file = form.querySelector("[data-image-file]");
    var id = form.querySelector("[data-image-id]");
    var preview = form.querySelector("[data-image-preview]");
    var status = form.querySelector("[data-image-status]");
    var remove = form.querySelector("[data-image-remove]");
    var saved = id.value;
    if (remove) remove.addEventListener("change", function () { id.value = remove.checked ? "" : saved; });
    file.addEventListener("change", function () {
      if (!file.files.length) return;
      var body = new FormData();
      body.append("file", file.files[0]);
      status.textContent = "Uploading " + file.files[0].name + "…";
      fetch("/admin/media", { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
        .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
        .then(function (answer) {
          if (!answer.ok) { status.textContent = answer.data.error || "The upload failed."; return; }
          id.value = String(answer.data.media_id);
          saved = id.value;
          if (remove) remove.checked = false;
          var img = document.createElement("img");
          img.src = answer.data.thumb;
          img.alt = "New portrait";
          preview.replaceChildren(img);
          status.textContent = "Uploaded. Save to keep it.";
        })
        .catch(function () { status.textContent = "The upload failed: check the connection and try again."; });
    });
  });

  // The comment queue: the author's inline reply, and keyboard shortcuts
  // (j/k move, x select, a/s/d approve/spam/delete, r reply).
  var queue = document.querySelector("[data-comment-queue]");
  if (queue) {
    var rows = Array.prototype.slice.call(queue.querySelectorAll(".queued-comment"));
    var current = -1;
    var openReply = function (id) {
      var form = document.getElementById("reply-" + id);
      var row = document.getElementById("c" + id);
      if (!form || !row) return;
      row.querySelector(".queued-body").appendChild(form);
      form.hidden = false;
      form.querySelector("textarea").focus();
    };
    queue.addEventListener("click", function (e) {
      var b = e.target.closest("[data-reply-open]");
      if (b) { e.preventDefault(); openReply(b.getAttribute("data-reply-open")); }
    });
    var focusRow = function (i) {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r, n) { r.classList.toggle("is-current", n === current); });
      rows[current].focus();
    };
    document.addEventListener("keydown", function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && t.type !== "checkbox")) return;
      var row = rows[current];
      if (e.key === "j") { focusRow(current + 1); e.preventDefault(); }
      else if (e.key === "k") { focusRow(current - 1); e.preventDefault(); }
      else if (row && e.key === "x") { var c = row.querySelector('input[name="ids"]'); c.checked = !c.checked; e.preventDefault(); }
      else if (row && /^[asd]$/.test(e.key)) {
        var action = { a: "approve", s: "spam", d: "delete" }[e.key];
        var button = row.querySelector('button[name="one"][value^="' + action + ':"]');
        if (button) { e.preventDefault(); button.click(); }
      } else if (row && e.key === "r") { e.preventDefault(); openReply(row.getAttribute("data-id")); }
    });
  }

  // Reordering pages: drag a row, or use its ↑ ↓ buttons.
  var table = document.querySelector("table[data-reorder-url]");
  if (!table) return;
  var url = table.getAttribute("data-reorder-url");
  var body = table.querySelector("tbody");

  function renumber() {
    body.querySelectorAll("tr").forEach(function (tr, i) {
      var cell = tr.querySelector(".num");
      if (cell) cell.textContent = String(i + 1);
    });
  }

  function send(row, before) {
    var data = new URLSearchParams();
    data.set("page", row.getAttribute("data-page-id"));
    data.set("before", before ? before.getAttribute("data-page-id") : "");
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf },
      body: data.toString(),
      credentials: "same-origin"
    }).then(function (r) {
      if (!r.ok) throw new Error("status " + r.status);
    }).catch(function () {
      window.alert("The new order could not be saved; the page will reload to show the real order.");
      window.location.reload();
    });
  }

  function place(row, before) {
    body.insertBefore(row, before);
    renumber();
    send(row, before);
  }

  var dragged = null;
  body.addEventListener("dragstart", function (e) {
    dragged = e.target.closest("tr");
    if (dragged) { e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", dragged.getAttribute("data-page-id")); dragged.classList.add("dragging"); }
  });
  body.addEventListener("dragend", function () { if (dragged) dragged.classList.remove("dragging"); dragged = null; });
  body.addEventListener("dragover", function (e) { if (dragged) e.preventDefault(); });
  body.addEventListener("drop", function (e) {
    var target = e.target.closest("tr");
    if (!dragged || !target || target === dragged) return;
    e.preventDefault();
    var rect = target.getBoundingClientRect();
    var after = e.clientY > rect.top + rect.height / 2;
    place(dragged, after ? target.nextElementSibling : target);
  });
  body.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-move]");
    if (!button) return;
    var row = button.closest("tr");
    if (button.getAttribute("data-move") === "up" && row.previousElementSibling) {
      place(row, row.previousElementSibling);
    } else if (button.getAttribute("data-move") === "down" && row.nextElementSibling) {
      place(row, row.nextElementSibling.nextElementSibling);
    }
    button.focus();
  });
})();
