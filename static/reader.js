// Halftone reader: keyboard navigation, "continue reading" and bookmarks.
// Everything is kept in this browser's localStorage; nothing is sent anywhere.
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

  // Remember the last page read (per site), to offer "continue reading".
  var continueBox = document.getElementById("continue-reading");
  var last = store.get("last", null);
  if (continueBox && last && comic && last.url !== comic.getAttribute("data-page-url")) {
    var p = document.createElement("p");
    p.appendChild(document.createTextNode("Welcome back! Continue where you left off: "));
    var a = document.createElement("a");
    a.href = last.url;
    a.textContent = last.title;
    p.appendChild(a);
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
})();
