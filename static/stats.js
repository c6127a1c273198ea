// Halftone page-view beacon. No cookies, nothing stored in this browser: it
// sends the page's path, the comic page id, the referrer and the screen width
// to the site's own analytics service, once per page view. It does nothing
// when the reader has asked not to be tracked (Do Not Track / Global Privacy
// Control), in the admin, or for the logged-in author.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.crypto || !window.crypto.getRandomValues) return;
  if (navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl) return;
  if (location.pathname.indexOf("/admin") === 0 || document.querySelector(".admin-bar")) return;

  var endpoint = script.getAttribute("data-endpoint") + "/api/hit";
  var bytes = new Uint8Array(12);
  window.crypto.getRandomValues(bytes);
  // One random id per page view: a retried beacon is counted once.
  var id = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  var hit = { id: id, p: location.pathname };
  var comic = document.querySelector("[data-page-id]");
  if (comic) hit.c = Number(comic.getAttribute("data-page-id"));
  if (document.referrer) hit.r = document.referrer;
  if (window.screen && screen.width) hit.w = Math.round(screen.width);
  var body = JSON.stringify(hit);
  var tries = 0;

  function retry() {
    if (tries < 4) setTimeout(send, 1000 * Math.pow(3, tries - 1));
  }
  function send() {
    tries += 1;
    // text/plain keeps this a "simple" request: no CORS preflight.
    fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit", headers: { "Content-Type": "text/plain" } })
      .then(function (response) { if (response.status >= 500) retry(); })
      .catch(retry);
  }
  send();
})();
