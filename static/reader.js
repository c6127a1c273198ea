// Halftone reader: keyboard navigation, the menu on small screens, "fit to
// screen", "continue reading" and bookmarks. Everything is kept in this
// browser's localStorage; nothing is sent anywhere. Every page works without
// this file: it only makes things nicer.
(function () {
  "use strict";

  var store = {
    get: function (key, fallback) {
      try {
        var raw = window.localStorage.getItem("halftone:" + key);
        return raw ? JSON.parse(raw) : fallback;
      } catch (e) {
        return fallback;
      }
    },
    set: function (key, value) {
      try {
        window.localStorage.setItem("halftone:" + key, JSON.stringify(value));
      } catch (e) {
        /* private mode or full storage: reading still works */
      }
    }
  };

  var comic = document.querySelector("article.comic[data-page-url]");
  var onChapterView = document.querySelectorAll("article.chapter-page").length > 0;

  // ← → move through pages, unless the reader is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var link = null;
    if (event.key === "ArrowLeft") link = document.querySelector('link[rel="prev"]');
    if (event.key === "ArrowRight") link = document.querySelector('link[rel="next"]');
    if (link && link.href) {
      event.preventDefault();
      window.location.href = link.href;
    }
  });

  function pageInfo(article) {
    return {
      url: article.getAttribute("data-page-url"),
      title: article.getAttribute("data-page-title"),
      at: Date.now()
    };
  }

  // The menu on small screens. Without JavaScript the "Menu" link opens
  // the panel through its #site-menu target; here it becomes a toggle.
  var header = document.querySelector(".site-header");
  var menuToggle = document.querySelector(".menu-toggle");
  var menu = document.getElementById("site-menu");
  if (header && menuToggle && menu) {
    var setMenu = function (open) {
      header.classList.toggle("menu-open", open);
      menuToggle.setAttribute("aria-expanded", open ? "true" : "false");
    };
    menuToggle.setAttribute("role", "button");
    setMenu(false);
    menuToggle.addEventListener("click", function (event) {
      event.preventDefault();
      var open = !header.classList.contains("menu-open");
      setMenu(open);
      if (open) {
        var first = menu.querySelector("a, input");
        if (first) first.focus();
      }
    });
    menuToggle.addEventListener("keydown", function (event) {
      if (event.key === " ") {
        event.preventDefault();
        menuToggle.click();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && header.classList.contains("menu-open")) {
        setMenu(false);
        menuToggle.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (header.classList.contains("menu-open") && !header.contains(event.target)) setMenu(false);
    });
    // On a phone the search button opens the menu at its search field
    // (without JavaScript it goes to the search page).
    var searchLink = document.querySelector(".search-link");
    var searchField = document.getElementById("header-q");
    if (searchLink && searchField) {
      searchLink.addEventListener("click", function (event) {
        if (window.getComputedStyle(menuToggle).display === "none") return;
        event.preventDefault();
        setMenu(true);
        searchField.focus();
      });
    }
  }

  // "Fit to screen" (wide screens): the whole page in the window at once.
  var root = document.documentElement;
  var fitToggle = document.querySelector("[data-fit-toggle]");
  var setFit = function (on) {
    root.classList.toggle("fit-height", on);
    if (fitToggle) fitToggle.setAttribute("aria-pressed", on ? "true" : "false");
  };
  setFit(store.get("fit", false) === true);
  if (fitToggle) {
    fitToggle.hidden = false;
    fitToggle.addEventListener("click", function () {
      var on = !root.classList.contains("fit-height");
      setFit(on);
      store.set("fit", on);
      var images = document.querySelector(".comic-frame .comic-images");
      // Bring the page into the window, where it now fits whole.
      if (on && images) images.scrollIntoView({ block: "start" });
    });
  }

  // Remember the last page read (per site), to offer "continue reading".
  var continueBox = document.getElementById("continue-reading");
  var last = store.get("last", null);
  if (continueBox && last && comic && last.url !== comic.getAttribute("data-page-url")) {
    var p = document.createElement("p");
    var text = document.createElement("span");
    text.className = "continue-text";
    text.appendChild(document.createTextNode("Welcome back! Continue where you left off: "));
    var a = document.createElement("a");
    a.href = last.url;
    a.textContent = last.title;
    text.appendChild(a);
    p.appendChild(text);
    var close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () {
      continueBox.hidden = true;
    });
    p.appendChild(close);
    continueBox.appendChild(p);
    continueBox.hidden = false;
  }
  if (comic && !onChapterView && !continueBox) {
    store.set("last", pageInfo(comic));
  }

  // Bookmarks.
  function bookmarks() {
    var list = store.get("bookmarks", []);
    return Array.isArray(list) ? list : [];
  }
  var button = document.querySelector("[data-bookmark]");
  if (button && comic) {
    var url = comic.getAttribute("data-page-url");
    var render = function () {
      var on = bookmarks().some(function (b) { return b.url === url; });
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "Bookmarked ✓" : "Bookmark this page";
    };
    button.hidden = false;
    render();
    button.addEventListener("click", function () {
      var list = bookmarks();
      var at = list.findIndex(function (b) { return b.url === url; });
      if (at >= 0) list.splice(at, 1);
      else list.unshift(pageInfo(comic));
      store.set("bookmarks", list.slice(0, 200));
      render();
    });
  }

  var listBox = document.getElementById("bookmark-list");
  if (listBox) {
    var draw = function () {
      var list = bookmarks();
      listBox.textContent = "";
      if (list.length === 0) {
        var empty = document.createElement("p");
        empty.textContent = listBox.getAttribute("data-empty");
        listBox.appendChild(empty);
        return;
      }
      var ul = document.createElement("ul");
      list.forEach(function (b) {
        var li = document.createElement("li");
        var link = document.createElement("a");
        link.href = b.url;
        link.textContent = b.title;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button secondary";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", "Remove bookmark: " + b.title);
        remove.addEventListener("click", function () {
          store.set("bookmarks", bookmarks().filter(function (x) { return x.url !== b.url; }));
          draw();
        });
        li.appendChild(link);
        li.appendChild(remove);
        ul.appendChild(li);
      });
      listBox.appendChild(ul);
    };
    draw();
  }

  // Content warnings and age gates: the answer is remembered in this
  // browser for the page, chapter or series the warning belongs to.
  document.querySelectorAll("details.content-warning[data-remember]").forEach(function (box) {
    var key = "seen:" + box.getAttribute("data-remember");
    if (store.get(key, false)) box.open = true;
    box.addEventListener("toggle", function () { if (box.open) store.set(key, true); });
  });

  // Comments. The page (cached for everyone) holds the comments of when it
  // was rendered; the list is refreshed from /comments/{page}. Comments
  // posted from this browser keep their edit token here for a few minutes,
  // and pending ones are shown to their author only, marked as such.
  var section = document.querySelector("section.comments[data-comments]");
  if (section) {
    var pageId = section.getAttribute("data-page");
    var list = section.querySelector("[data-comment-list]");
    var countBox = section.querySelector("[data-comment-count]");
    var mine = function () {
      var now = Date.now() / 1000;
      return store.get("comments", []).filter(function (c) { return c.keep > now; });
    };
    var post = function (url, data) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(data).toString()
      }).then(function (r) {
        return r.json().catch(function () { return { error: "The server did not answer properly (" + r.status + "). Your text is still here; try again." }; });
      });
    };
    var fromHtml = function (html) {
      var t = document.createElement("template");
      t.innerHTML = html.trim();
      return t.content.firstElementChild;
    };
    var decorate = function () {
      var now = Date.now() / 1000;
      var shown = 0;
      mine().forEach(function (c) {
        if (String(c.page) !== pageId) return;
        var el = document.getElementById("comment-" + c.id);
        if (!el && c.pending && c.html) {
          el = fromHtml(c.html);
          el.classList.add("is-pending");
          var note = document.createElement("p");
          note.className = "pending-note";
          note.textContent = "Waiting for the author's approval: only you can see it for now.";
          el.appendChild(note);
          var holder = list.querySelector("ol.comment-threads");
          if (!holder) {
            holder = document.createElement("ol");
            holder.className = "comment-threads";
            var empty = list.querySelector(".no-comments");
            if (empty) empty.remove();
            list.appendChild(holder);
          }
          var li = document.createElement("li");
          li.className = "comment-thread";
          li.appendChild(el);
          holder.appendChild(li);
        }
        if (!el || c.until < now || el.querySelector(".own-actions")) return;
        shown++;
        var actions = document.createElement("p");
        actions.className = "own-actions";
        var editButton = document.createElement("button");
        editButton.type = "button";
        editButton.className = "link-button";
        editButton.textContent = "Edit";
        var deleteButton = document.createElement("button");
        deleteButton.type = "button";
        deleteButton.className = "link-button";
        deleteButton.textContent = "Delete";
        actions.appendChild(editButton);
        actions.appendChild(document.createTextNode(" · "));
        actions.appendChild(deleteButton);
        el.appendChild(actions);
        editButton.addEventListener("click", function () {
          var body = el.querySelector(".comment-body");
          var area = document.createElement("textarea");
          area.value = c.text || body.textContent.trim();
          area.rows = 4;
          area.setAttribute("aria-label", "Edit your comment");
          var save = document.createElement("button");
          save.type = "button";
          save.textContent = "Save";
          var msg = document.createElement("p");
          msg.setAttribute("role", "status");
          body.replaceWith(area);
          actions.replaceWith(save);
          save.after(msg);
          area.focus();
          save.addEventListener("click", function () {
            post("/comments/" + c.id + "/edit", { token: c.token, body: area.value }).then(function (r) {
              if (r.error) { msg.textContent = r.error; return; }
              var fresh = fromHtml(r.html);
              c.text = area.value;
              c.html = r.html;
              store.set("comments", mine().map(function (x) { return x.id === c.id ? c : x; }));
              el.replaceWith(fresh);
              decorate();
            });
          });
        });
        deleteButton.addEventListener("click", function () {
          if (!window.confirm("Delete your comment?")) return;
          post("/comments/" + c.id + "/delete", { token: c.token }).then(function (r) {
            if (r.error) { window.alert(r.error); return; }
            store.set("comments", mine().filter(function (x) { return x.id !== c.id; }));
            el.remove();
          });
        });
      });
      return shown;
    };
    var wireReplies = function () {
      list.querySelectorAll("[data-reply]").forEach(function (b) {
        b.hidden = false;
        b.addEventListener("click", function () {
          var form = section.querySelector("[data-comment-form]");
          if (!form) return;
          form.querySelector("[data-parent]").value = b.getAttribute("data-reply");
          var replying = form.querySelector("[data-replying]");
          replying.querySelector("[data-replying-to]").textContent = "Replying to " + b.getAttribute("data-reply-name") + ".";
          replying.hidden = false;
          form.querySelector("textarea").focus();
        });
      });
    };
    var refresh = function () {
      fetch("/comments/" + pageId, { credentials: "omit" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          list.innerHTML = html;
          var counted = list.querySelector("[data-count]");
          if (countBox && counted) countBox.textContent = "(" + list.querySelectorAll("article.comment").length + ")";
          wireReplies();
          decorate();
        })
        .catch(function () { /* offline: the page's own copy stays */ });
    };
    wireReplies();
    decorate();
    refresh();

    var ticketFor = function (form) {
      var field = form.querySelector("[data-ticket]");
      if (!field || field.value) return;
      field.value = "pending";
      fetch("/comments/ticket", { credentials: "omit", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (j) { field.value = j.ticket; })
        .catch(function () { field.value = ""; });
    };
    section.querySelectorAll("form[data-comment-form], form[data-transcript-form]").forEach(function (form) {
      form.addEventListener("focusin", function () { ticketFor(form); });
      var status = form.querySelector("[data-comment-status]");
      var cancel = form.querySelector("[data-cancel-reply]");
      if (cancel) cancel.addEventListener("click", function () {
        form.querySelector("[data-parent]").value = "";
        form.querySelector("[data-replying]").hidden = true;
      });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        ticketFor(form);
        var button = form.querySelector('button[type="submit"]');
        button.disabled = true;
        status.textContent = "Sending…";
        var data = {};
        new FormData(form).forEach(function (v, k) { data[k] = v; });
        post(form.getAttribute("action"), data).then(function (r) {
          button.disabled = false;
          if (r.error) {
            status.textContent = r.error;
            if (r.ticket) form.querySelector("[data-ticket]").value = r.ticket;
            return;
          }
          status.textContent = r.message;
          var area = form.querySelector("textarea");
          if (r.id && r.token) {
            var list_ = mine();
            list_.push({ id: r.id, page: pageId, token: r.token, until: r.edit_until, keep: Date.now() / 1000 + 7 * 86400, pending: r.status !== "approved", html: r.html, text: area.value });
            store.set("comments", list_.slice(-50));
          }
          area.value = "";
          var parent = form.querySelector("[data-parent]");
          if (parent) { parent.value = ""; form.querySelector("[data-replying]").hidden = true; }
          refresh();
        }).catch(function () {
          button.disabled = false;
          status.textContent = "The comment could not be sent (no connection?). Your text is still here; try again.";
        });
      });
    });
  }
})();
