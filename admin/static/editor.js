// Halftone page editor: autosave over a websocket that never loses a word.
//
// - Every change is kept in localStorage until the server confirms it, so a
//   dropped connection, a server restart or a closed tab loses nothing.
// - Saves name the revision they are based on; a stale save is refused by
//   the server and the author compares and chooses.
// - The connection comes back by itself, with backoff.
(function () {
  "use strict";
  var root = document.getElementById("editor");
  if (!root) return;

  var pageId = root.getAttribute("data-page-id");
  var wsPath = root.getAttribute("data-ws-path");
  var maxBytes = Number(root.getAttribute("data-max-bytes")) || 524288;
  var maxUpload = Number(root.getAttribute("data-max-upload")) || 52428800;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var initial = JSON.parse(document.getElementById("initial").textContent);
  var storeKey = "halftone:draft:" + pageId;
  var stateEl = document.getElementById("save-state");
  var imagesEl = document.getElementById("images");

  var base = initial.revision; // the revision our text is based on
  var saved = normalize(initial.draft); // what the server holds at `base`
  var images = initial.draft.images.map(function (i) { return { media_id: i.media_id, alt: i.alt || "" }; });
  var thumbs = {};
  initial.images.forEach(function (i) { thumbs[i.media_id] = i; });

  var ws = null;
  var connected = false;
  var attempts = 0;
  var seq = 0;
  var inflight = null; // {seq, json}
  var saveTimer = null;
  var retryTimer = null;
  var sessionEnded = false;
  var waiters = []; // callbacks waiting for "all saved"

  // ---- the draft -----------------------------------------------------------

  function field(name) { return root.querySelector('[data-field="' + name + '"]'); }
  function list(value) {
    return value.split(",").map(function (s) { return s.trim(); }).filter(function (s) { return s.length > 0; });
  }

  // Same key order as the server's PageDraft, so drafts compare as strings.
  function normalize(d) {
    return {
      title: d.title || "",
      slug: d.slug || "",
      hover_text: d.hover_text || "",
      transcript: d.transcript || "",
      notes: d.notes || "",
      content_warning: d.content_warning || "",
      age_gate: !!d.age_gate,
      chapter_id: d.chapter_id === undefined || d.chapter_id === null || d.chapter_id === "" ? null : Number(d.chapter_id),
      tags: (d.tags || []).slice(),
      characters: (d.characters || []).slice(),
      images: (d.images || []).map(function (i) { return { media_id: Number(i.media_id), alt: i.alt || "" }; })
    };
  }

  function collect() {
    return normalize({
      title: field("title").value,
      slug: field("slug").value.trim(),
      hover_text: field("hover_text").value,
      transcript: field("transcript").value,
      notes: field("notes").value,
      content_warning: field("content_warning").value,
      age_gate: field("age_gate").checked,
      chapter_id: field("chapter_id").value,
      tags: list(field("tags").value),
      characters: list(field("characters").value),
      images: images
    });
  }

  function show(draft) {
    var d = normalize(draft);
    field("title").value = d.title;
    field("slug").value = d.slug;
    field("hover_text").value = d.hover_text;
    field("transcript").value = d.transcript;
    field("notes").value = d.notes;
    field("content_warning").value = d.content_warning;
    field("age_gate").checked = d.age_gate;
    field("chapter_id").value = d.chapter_id === null ? "" : String(d.chapter_id);
    field("tags").value = d.tags.join(", ");
    field("characters").value = d.characters.join(", ");
    images = d.images;
    drawImages();
    previewNotes();
  }

  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function dirty() { return !same(collect(), saved); }

  function keepLocally() {
    try {
      if (dirty()) {
        localStorage.setItem(storeKey, JSON.stringify({ base: base, draft: collect(), at: Date.now() }));
      } else {
        localStorage.removeItem(storeKey);
      }
    } catch (e) { /* storage full or disabled: the server copy still counts */ }
  }

  function setState(state, text) {
    stateEl.setAttribute("data-state", state);
    stateEl.textContent = text;
  }

  function setRevision(revision) {
    base = revision;
    document.querySelectorAll('form[data-publish] input[name="revision"]').forEach(function (i) { i.value = revision; });
  }

  // ---- saving --------------------------------------------------------------

  function changed() {
    keepLocally();
    if (connected) setState("pending", "Unsaved changes…");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, 700);
  }

  function save() {
    clearTimeout(saveTimer);
    if (!dirty()) {
      if (!inflight) { setState("saved", "Saved"); flushWaiters(); }
      return;
    }
    if (!connected) {
      setState("offline", "Offline: your changes are kept in this browser and will be saved when the connection returns.");
      return;
    }
    if (inflight) return; // the reply triggers the next save
    var draft = collect();
    var message = JSON.stringify({ type: "save", seq: ++seq, base: base, draft: draft });
    if (message.length > maxBytes) {
      setState("error", "Not saved: the page is too long to save (" + Math.round(message.length / 1024) + " KB; the limit is " + Math.round(maxBytes / 1024) + " KB).");
      return;
    }
    inflight = { seq: seq, draft: draft };
    setState("saving", "Saving…");
    try { ws.send(message); } catch (e) { inflight = null; }
  }

  function retrySoon() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(save, Math.min(10000, 500 * Math.pow(2, Math.min(attempts++, 5))));
  }

  function flushWaiters() {
    var w = waiters; waiters = [];
    w.forEach(function (f) { f(); });
  }

  // ---- the connection ------------------------------------------------------

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wsPath;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    ws.onopen = function () { connected = true; attempts = 0; };
    ws.onmessage = function (event) {
      var m;
      try { m = JSON.parse(event.data); } catch (e) { return; }
      receive(m);
    };
    ws.onclose = function () {
      var was = connected;
      connected = false;
      inflight = null;
      if (was || dirty()) setState("offline", "Offline: reconnecting… Your changes are kept in this browser.");
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    var delay = Math.min(10000, 250 * Math.pow(2, Math.min(attempts++, 6))) + Math.random() * 250;
    setTimeout(connect, sessionEnded ? 5000 : delay);
  }

  function receive(m) {
    switch (m.type) {
      case "reconnect":
        // The server is shutting down; the close that follows reconnects
        // (to another node behind the balancer) and resends what is unsaved.
        setState("offline", "Server restarting: reconnecting… Your changes are kept in this browser.");
        break;
      case "hello":
        sessionEnded = false;
        if (!dirty()) {
          // Nothing of ours pending: show the newest saved draft.
          if (m.revision !== base) { show(m.draft); }
          saved = normalize(m.draft);
          setRevision(m.revision);
          setState("saved", "Saved");
          keepLocally();
          flushWaiters();
        } else {
          // Ours is pending: send it, based on what we had. If the page
          // moved on meanwhile, the server answers "conflict".
          save();
        }
        break;
      case "saved":
        if (inflight && inflight.seq === m.seq) {
          saved = normalize(inflight.draft);
          inflight = null;
          setRevision(m.revision);
          attempts = 0;
          keepLocally();
          if (dirty()) { save(); } else { setState("saved", "Saved"); flushWaiters(); }
        }
        break;
      case "conflict":
        inflight = null;
        resolveConflict(m.revision, normalize(m.draft));
        break;
      case "invalid":
        inflight = null;
        setState("error", "Not saved: " + m.errors.map(function (e) { return e.message; }).join("; ") + ". Your text is kept here.");
        break;
      case "error":
        inflight = null;
        setState("offline", m.message || "Not saved yet; retrying.");
        if (m.retry) retrySoon();
        break;
      case "bad_message":
        inflight = null;
        setState("error", "Not saved: " + m.message);
        break;
      case "remote":
        if (!dirty() && !inflight) {
          show(m.draft);
          saved = normalize(m.draft);
          setRevision(m.revision);
          setState("saved", "Saved (updated by " + m.by + ")");
        } else {
          setState("pending", m.by + " saved a newer version; you will be asked to choose when yours is saved.");
          save();
        }
        break;
      case "conflict_elsewhere":
        break;
      case "session_ended":
        sessionEnded = true;
        setState("error", "Your session has ended: log in again in another tab. Your text is kept in this browser and will be saved afterwards.");
        break;
    }
  }

  // ---- conflicts -----------------------------------------------------------

  var dialog = document.getElementById("conflict");
  var theirs = null;
  var theirRevision = null;

  function resolveConflict(revision, draft) {
    theirs = draft;
    theirRevision = revision;
    var mine = collect();
    var rows = document.getElementById("conflict-rows");
    rows.textContent = "";
    Object.keys(mine).forEach(function (key) {
      var a = JSON.stringify(mine[key]);
      var b = JSON.stringify(draft[key]);
      if (a === b) return;
      var tr = document.createElement("tr");
      [key.replace("_", " "), text(mine[key]), text(draft[key])].forEach(function (v, i) {
        var cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        cell.textContent = v;
        tr.appendChild(cell);
      });
      rows.appendChild(tr);
    });
    setState("conflict", "Someone else saved this page: choose which version to keep.");
    if (dialog.showModal && !dialog.open) dialog.showModal();
  }

  function text(value) {
    if (Array.isArray(value)) {
      return value.map(function (v) { return typeof v === "object" ? "image " + v.media_id + (v.alt ? " (" + v.alt + ")" : "") : v; }).join(", ");
    }
    return value === null ? "—" : String(value);
  }

  dialog.addEventListener("click", function (event) {
    var choice = event.target.getAttribute && event.target.getAttribute("data-choose");
    if (!choice) return;
    if (choice === "theirs") { show(theirs); }
    saved = theirs;
    setRevision(theirRevision);
    dialog.close();
    keepLocally();
    if (dirty()) { save(); } else { setState("saved", "Saved"); flushWaiters(); }
  });

  // ---- images --------------------------------------------------------------

  function drawImages() {
    imagesEl.textContent = "";
    images.forEach(function (image, index) {
      var li = document.createElement("li");
      li.draggable = true;
      li.setAttribute("data-index", index);
      var info = thumbs[image.media_id];
      if (info) {
        var img = document.createElement("img");
        img.src = info.thumb;
        img.alt = "";
        img.width = 80;
        li.appendChild(img);
      }
      var box = document.createElement("div");
      var label = document.createElement("label");
      label.textContent = "Alt text of image " + (index + 1);
      var alt = document.createElement("textarea");
      alt.rows = 2;
      alt.maxLength = 2000;
      alt.value = image.alt;
      alt.id = "alt-" + index;
      label.htmlFor = alt.id;
      alt.addEventListener("input", function () { images[index].alt = alt.value; changed(); });
      box.appendChild(label);
      box.appendChild(alt);
      var tools = document.createElement("div");
      tools.className = "tools";
      [["↑", -1, "Move image " + (index + 1) + " up"], ["↓", 1, "Move image " + (index + 1) + " down"]].forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b[0];
        button.setAttribute("aria-label", b[2]);
        button.addEventListener("click", function () { moveImage(index, index + b[1]); });
        tools.appendChild(button);
      });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.className = "danger-outline";
      remove.setAttribute("aria-label", "Remove image " + (index + 1));
      remove.addEventListener("click", function () { images.splice(index, 1); drawImages(); changed(); });
      tools.appendChild(remove);
      box.appendChild(tools);
      li.appendChild(box);
      li.addEventListener("dragstart", function (e) { e.dataTransfer.setData("text/x-image-index", String(index)); });
      li.addEventListener("dragover", function (e) { if (Array.prototype.indexOf.call(e.dataTransfer.types, "text/x-image-index") >= 0) e.preventDefault(); });
      li.addEventListener("drop", function (e) {
        var from = e.dataTransfer.getData("text/x-image-index");
        if (from === "") return;
        e.preventDefault();
        e.stopPropagation();
        moveImage(Number(from), index);
      });
      imagesEl.appendChild(li);
    });
  }

  function moveImage(from, to) {
    if (to < 0 || to >= images.length || from === to) return;
    var moved = images.splice(from, 1)[0];
    images.splice(to, 0, moved);
    drawImages();
    changed();
  }

  var uploadsEl = document.getElementById("uploads");
  function upload(file) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.textContent = file.name + " ";
    var progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    li.appendChild(name);
    li.appendChild(progress);
    uploadsEl.appendChild(li);
    function fail(message) {
      li.className = "error";
      li.textContent = message;
    }
    if (file.size > maxUpload) { fail(file.name + ": larger than the " + Math.round(maxUpload / 1048576) + " MB limit."); return; }
    var form = new FormData();
    form.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/admin/media");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) progress.value = Math.round(100 * e.loaded / e.total); };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) {
        thumbs[body.media_id] = body;
        images.push({ media_id: body.media_id, alt: "" });
        drawImages();
        changed();
        li.textContent = file.name + ": added. Remember to describe it (alt text).";
        setTimeout(function () { li.remove(); }, 8000);
      } else if (xhr.status === 401) {
        fail(file.name + ": your session has ended; log in again in another tab, then retry.");
      } else {
        fail(body.error || (file.name + ": upload failed (" + xhr.status + ")."));
      }
    };
    xhr.onerror = function () { fail(file.name + ": the upload was interrupted; try again."); };
    xhr.send(form);
  }

  var dropzone = document.getElementById("dropzone");
  var fileInput = document.getElementById("file-input");
  fileInput.addEventListener("change", function () {
    Array.prototype.forEach.call(fileInput.files, upload);
    fileInput.value = "";
  });
  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (e) {
      if (Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) { e.preventDefault(); dropzone.classList.add("over"); }
    });
  });
  ["dragleave", "drop"].forEach(function (type) { dropzone.addEventListener(type, function () { dropzone.classList.remove("over"); }); });
  dropzone.addEventListener("drop", function (e) {
    if (!e.dataTransfer.files.length) return;
    e.preventDefault();
    Array.prototype.forEach.call(e.dataTransfer.files, upload);
  });

  // ---- notes preview -------------------------------------------------------

  var previewTimer = null;
  function previewNotes() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () {
      fetch("/admin/markdown", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ markdown: field("notes").value }),
        credentials: "same-origin"
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
        // The HTML was sanitized on the server (ammonia).
        if (body) document.getElementById("notes-preview").innerHTML = body.html;
      }).catch(function () { /* offline: the preview waits */ });
    }, 300);
  }

  // ---- wiring --------------------------------------------------------------

  root.querySelectorAll("[data-field]").forEach(function (el) {
    el.addEventListener("input", changed);
    el.addEventListener("change", changed);
  });
  field("notes").addEventListener("input", previewNotes);
  field("title").addEventListener("input", function () {
    // Suggest a slug for untitled pages while the slug is still the placeholder.
    var slug = field("slug");
    if (/^untitled-[0-9a-f]{8}$/.test(slug.value)) {
      slug.dataset.auto = "1";
    }
    if (slug.dataset.auto === "1") {
      slug.value = field("title").value.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 120) || slug.value;
    }
  });
  field("slug").addEventListener("input", function () { field("slug").dataset.auto = ""; });

  // Publishing applies the newest saved draft: save first, then submit.
  document.querySelectorAll("form[data-publish]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.ready === "1") return;
      if (!dirty() && !inflight) return;
      event.preventDefault();
      var action = event.submitter ? event.submitter.value : "";
      if (!connected) { setState("offline", "Not connected: your latest changes are not saved yet, so they cannot be published. Reconnecting…"); return; }
      setState("saving", "Saving before publishing…");
      waiters.push(function () {
        form.dataset.ready = "1";
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "action";
        hidden.value = action;
        form.appendChild(hidden);
        form.submit();
      });
      save();
    });
  });

  window.addEventListener("beforeunload", function (event) {
    keepLocally();
    if (dirty() || inflight) { event.preventDefault(); event.returnValue = ""; }
  });

  // Bring back what this browser had not saved yet (a crash, a closed tab).
  try {
    var kept = JSON.parse(localStorage.getItem(storeKey) || "null");
    if (kept && kept.draft && !same(normalize(kept.draft), saved)) {
      show(kept.draft);
      // Based on an older revision, the save will conflict and ask.
      setRevision(kept.base);
      setState("pending", "Restored changes this browser had not saved yet; saving…");
    } else {
      drawImages();
    }
  } catch (e) { drawImages(); }
  previewNotes();
  connect();

  // For tests and curious authors.
  window.halftoneEditor = { state: function () { return stateEl.getAttribute("data-state"); }, revision: function () { return base; } };
})();
