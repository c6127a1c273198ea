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
})();
