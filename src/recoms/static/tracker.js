/* recoms web tracker: sets the `sc` visitor cookie and sends tracker envelopes to /api/v2/tracking.
 *   <script src="https://recoms.example.com/tracker.js" data-site-id="site_..."></script>
 *   recoms.track("ProductPage", {productKey: "P1", price: 9.9, isInStock: 1});
 *   recoms.identify({externalCustomerId: "c-1", user_email: "a@b.c"});   // sends CustomerData
 */
(function (w, d) {
  "use strict";
  var script = d.currentScript || d.querySelector("script[data-site-id]");
  var siteId = script && script.getAttribute("data-site-id");
  var endpoint = (script && script.getAttribute("data-endpoint")) ||
    (script ? new URL(script.src, w.location.href).origin : "") + "/api/v2/tracking";

  function readCookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function newId() {
    var a = new Uint8Array(16);
    (w.crypto || w.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var sc = readCookie("sc");
  if (!sc) {
    sc = newId();
  }
  // Refresh on every page: the visitor keeps the id for two years of inactivity.
  d.cookie = "sc=" + sc + "; path=/; max-age=63072000; SameSite=Lax" + (w.location.protocol === "https:" ? "; Secure" : "");

  var identity = {};
  function send(eventName, payload) {
    var info = {eventName: eventName, siteId: siteId, datetime: Date.now(), cookies: {sc: sc}};
    for (var k in identity) { if (identity.hasOwnProperty(k)) { info[k] = identity[k]; } }
    var envelope = {GeneralInfo: info};
    envelope[eventName] = payload || {};
    var body = JSON.stringify(envelope);
    if (w.navigator.sendBeacon && w.navigator.sendBeacon(endpoint, new Blob([body], {type: "application/json"}))) {
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", endpoint, true);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.send(body);
  }
  w.recoms = {
    track: send,
    identify: function (data) {
      if (data.externalCustomerId) { identity.externalCustomerId = data.externalCustomerId; }
      if (data.user_email) { identity.user_email = data.user_email; }
      if (data.user_phone) { identity.user_phone = data.user_phone; }
      send("CustomerData", data);
    },
    cookie: function () { return sc; }
  };
})(window, document);
