// The offline page: shows the last dashboard snapshot this device kept (static/js/portal.js writes
// it), in the language the customer saw it in. Text only (textContent): nothing is parsed as HTML.
(function () {
  "use strict";
  var SNAPSHOT = "/offline/snapshot.json";
  var root = document.documentElement;

  function monacoDay(date) {
    // "YYYY-MM-DD" in Monaco, to tell "as of 14:05" (today) from "as of 3 Dec, 14:05".
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Monaco" }).format(date);
  }

  function text(selector, value) {
    var node = document.querySelector(selector);
    if (node && value) {
      node.textContent = value;
    }
    return node;
  }

  function show(snapshot) {
    if (!snapshot || snapshot.v !== 1 || !snapshot.cards) {
      return;
    }
    if (snapshot.lang) {
      root.setAttribute("lang", snapshot.lang);
    }
    text("[data-offline-title]", snapshot.title);
    text("[data-offline-message]", snapshot.message);
    text("[data-offline-hint]", snapshot.hint);
    text("[data-offline-retry]", snapshot.retry);
    var today = snapshot.day === monacoDay(new Date());
    text("[data-snapshot-title]", today ? snapshot.heading_today : snapshot.heading_dated);
    text("[data-snapshot-note]", snapshot.note);
    var list = document.querySelector("[data-snapshot-cards]");
    var now = Date.now();
    snapshot.cards.forEach(function (card) {
      var item = document.createElement("li");
      var name = document.createElement("strong");
      name.textContent = card.name;
      var line = document.createElement("span");
      line.className = "stat-line";
      var expired = card.expires_at && Date.parse(card.expires_at) <= now;
      line.textContent = expired ? card.line_expired : today ? card.line_today : card.line_dated;
      item.appendChild(name);
      item.appendChild(document.createElement("br"));
      item.appendChild(line);
      list.appendChild(item);
    });
    document.querySelector("[data-offline-snapshot]").hidden = false;
    var nothing = document.querySelector("[data-offline-nothing]");
    if (nothing) {
      nothing.hidden = true;
    }
  }

  if (!("caches" in window)) {
    return;
  }
  caches
    .open("portal-personal")
    .then(function (cache) {
      return cache.match(SNAPSHOT);
    })
    .then(function (response) {
      return response ? response.json() : null;
    })
    .then(show)
    .catch(function () {});
})();
