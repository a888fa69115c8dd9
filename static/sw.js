// The installable app's service worker, served from /sw.js (portal.views.service_worker) so that it
// controls the whole site. A static file: no inline script, nothing the CSP has to allow.
//
// It keeps three things, nothing else:
// - the static assets (CSS, JS, icons), cache-first: their names change with their content;
// - the offline page (/offline/), fetched without cookies, so it is the same for everyone;
// - the last dashboard snapshot ("portal-personal"): written by the dashboard page itself
//   (static/js/portal.js), data left and validity only; removed at logout, logout everywhere and
//   account deletion (Clear-Site-Data) and by any page served to a visitor who is not signed in.
// Pages themselves are never cached: online, every page comes from the server; offline, a page
// that cannot be fetched is answered with the offline page instead of the browser's error page.
"use strict";

var VERSION = "2026-12-01.1";
var STATIC_CACHE = "portal-static-" + VERSION;
var OFFLINE_CACHE = "portal-offline-" + VERSION;
var PERSONAL_CACHE = "portal-personal";
var OFFLINE_URL = "/offline/";
var STATIC_PREFIX = "/static/";
var STATIC_LIMIT = 80;

function assetsOf(html) {
  var found = [];
  var pattern = /(?:href|src)="(\/static\/[^"]+)"/g;
  var match;
  while ((match = pattern.exec(html)) !== null) {
    found.push(match[1].replace(/&amp;/g, "&"));
  }
  return found;
}

function cacheOfflinePage() {
  return fetch(OFFLINE_URL, { credentials: "omit", cache: "no-store" }).then(function (response) {
    if (!response.ok) {
      throw new Error("offline page: HTTP " + response.status);
    }
    return response.clone().text().then(function (html) {
      return Promise.all([
        caches.open(OFFLINE_CACHE).then(function (cache) {
          return cache.put(OFFLINE_URL, response);
        }),
        caches.open(STATIC_CACHE).then(function (cache) {
          return cache.addAll(assetsOf(html));
        }),
      ]);
    });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    cacheOfflinePage().then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  var keep = [STATIC_CACHE, OFFLINE_CACHE, PERSONAL_CACHE];
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf("portal-") === 0 && keep.indexOf(name) === -1;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

function trim(cache) {
  return cache.keys().then(function (requests) {
    var extra = requests.length - STATIC_LIMIT;
    return Promise.all(
      requests.slice(0, Math.max(extra, 0)).map(function (request) {
        return cache.delete(request);
      })
    );
  });
}

function fromCacheFirst(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      if (hit) {
        return hit;
      }
      return fetch(request).then(function (response) {
        if (response.ok && response.type === "basic") {
          cache.put(request, response.clone()).then(function () {
            return trim(cache);
          });
        }
        return response;
      });
    });
  });
}

function offlinePage() {
  return caches.open(OFFLINE_CACHE).then(function (cache) {
    return cache.match(OFFLINE_URL).then(function (page) {
      return page || Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return;
  }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(fromCacheFirst(request));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(function () {
        return offlinePage();
      })
    );
  }
});
