/* recoms web tracker: the `sc` visitor cookie, the platform's `eS(...)` command queue, tracker envelopes
 * sent to recoms' /api/v2/tracking. Plain ES5, no build step, no request to anything but recoms.
 *
 * Loaded two ways:
 *   - by the platform's snippet (what /api/v1/site/script returns) as /scripts/<site id>.js, which
 *     prepends `window.__recomsConfig = {siteId, orgId};`, then the page calls
 *     eS('sendEvent', 'ProductPage', {ProductPage: {productKey: '42', price: '122', isInStock: 1}});
 *   - directly: <script src="https://recoms.example.com/tracker.js" data-site-id="site_..."></script>
 *     recoms.track("ProductPage", {productKey: "P1", price: 9.9, isInStock: 1});
 *     recoms.identify({externalCustomerId: "c-1", user_email: "a@b.c"});   (sends CustomerData)
 *     recoms.impressions(recommendationId, ["P1", "P2"]);  recoms.click(recommendationId, "P2");
 * Events go to the recoms this script came from (its origin and path prefix) + /api/v2/tracking, unless
 * `data-endpoint` on the tag (or `endpoint` in __recomsConfig) says otherwise; `data-org-id` fills
 * `_esConfig.orgId` in the tag mode.
 */
(function (w, d) {
  "use strict";
  var config = w.__recomsConfig || {};
  w.__recomsConfig = undefined;
  if (w.eS && w.eS.recoms) {
    return; /* already running on this page (the snippet and the tag both present) */
  }

  var script = d.currentScript || d.querySelector("script[data-site-id]");
  function attr(name) {
    return script && script.getAttribute ? script.getAttribute(name) : null;
  }
  var siteId = config.siteId || attr("data-site-id");
  var orgId = config.orgId || (attr("data-org-id") ? parseInt(attr("data-org-id"), 10) : undefined);

  /* recoms' root is where this script came from: its URL without /tracker.js or /scripts/<id>.js. */
  function root() {
    if (!script || !script.src) {
      return "";
    }
    var a = d.createElement("a");
    a.href = script.src;
    var path = a.pathname.charAt(0) === "/" ? a.pathname : "/" + a.pathname;
    var m = path.match(/^(.*)\/(?:scripts\/[^\/]+|tracker)\.js$/);
    return a.protocol + "//" + a.host + (m ? m[1] : "");
  }
  var endpoint = config.endpoint || attr("data-endpoint") || root() + "/api/v2/tracking";

  /* The visitor id: kept from an earlier visit (ours or the platform's tracker), else new. */
  function readCookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    if (!m) {
      return null;
    }
    try {
      return decodeURIComponent(m[1]);
    } catch (e) {
      return null;
    }
  }
  function newId() {
    var a = new Uint8Array(16);
    var c = w.crypto || w.msCrypto;
    if (c && c.getRandomValues) {
      c.getRandomValues(a);
    } else {
      for (var i = 0; i < a.length; i++) { a[i] = Math.floor(Math.random() * 256); }
    }
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var sc = readCookie("sc");
  if (!sc || !/^[A-Za-z0-9._-]{1,128}$/.test(sc)) {
    sc = newId();
  }
  /* Refreshed on every page: the visitor keeps the id for two years of inactivity. */
  d.cookie = "sc=" + sc + "; path=/; max-age=63072000; SameSite=Lax" +
    (w.location.protocol === "https:" ? "; Secure" : "");
  /* The WooCommerce plugin reads the visitor id from here before the cookie. */
  try {
    var state = JSON.parse(w.localStorage.getItem("esState") || "{}");
    state = state && typeof state === "object" && !(state instanceof Array) ? state : {};
    state.customerId = sc;
    w.localStorage.setItem("esState", JSON.stringify(state));
  } catch (e) { /* storage disabled or full: the cookie still works */ }

  /* The WooCommerce plugin looks for _esConfig.orgId only when the DOM changes after DOMContentLoaded,
   * so change it: now, after DOMContentLoaded and after load (by then its observer exists). */
  var esConfig = w._esConfig && typeof w._esConfig === "object" ? w._esConfig : {};
  esConfig.siteId = siteId;
  if (orgId) {
    esConfig.orgId = orgId;
  }
  w._esConfig = esConfig;
  function mark() {
    try {
      var old = d.getElementById("recoms-tracker");
      if (old && old.parentNode) {
        old.parentNode.removeChild(old);
      }
      var el = d.createElement("meta");
      el.id = "recoms-tracker";
      el.setAttribute("name", "recoms-tracker");
      (d.body || d.head || d.documentElement).appendChild(el);
    } catch (e) { /* cosmetic: only the WooCommerce plugin needs it */ }
  }
  mark();
  if (d.readyState === "loading") {
    d.addEventListener("DOMContentLoaded", mark);
  }
  if (d.readyState !== "complete") {
    w.addEventListener("load", function () { w.setTimeout(mark, 0); });
  }

  function isObject(v) {
    return v !== null && typeof v === "object" && !(v instanceof Array);
  }
  function own(o, k) {
    return Object.prototype.hasOwnProperty.call(o, k);
  }

  /* Transport: a beacon with a text/plain body (a CORS-safelisted type: Chrome refuses cross-origin
   * beacons of application/json), else fetch, else XHR. The server reads the body as JSON anyway. */
  function post(body) {
    var nav = w.navigator;
    try {
      if (nav.sendBeacon && nav.sendBeacon(endpoint, body)) {
        return;
      }
    } catch (e) { /* fall through */ }
    if (w.fetch) {
      w.fetch(endpoint, {method: "POST", body: body, keepalive: body.length < 60000, mode: "cors",
        credentials: "omit", headers: {"Content-Type": "text/plain"}})["catch"](function () {});
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", endpoint, true);
    xhr.setRequestHeader("Content-Type", "text/plain");
    xhr.send(body);
  }

  /* Identifiers the visitor gave (CustomerData), repeated in later events' GeneralInfo. */
  var identity = {};
  var IDENTIFIERS = ["externalCustomerId", "user_email", "user_phone"];
  function remember(data) {
    for (var i = 0; i < IDENTIFIERS.length; i++) {
      var v = data[IDENTIFIERS[i]];
      if ((typeof v === "string" && v) || typeof v === "number") {
        identity[IDENTIFIERS[i]] = v;
      }
    }
  }

  /* Payload keys that are already envelope sections (eS form), as opposed to a bare payload to wrap
   * (recoms.track form): `{StatusCart: [...], GUID}` is spread, `{GUID, Products: [...]}` is wrapped. */
  var SECTIONS = ["ProductPage", "StatusCart", "PurchasedItems", "CategoryPage", "CustomerData",
    "SearchRequest", "AddToWishlist", "ProductImpression", "ProductImpressions", "PageView", "GeneralInfo"];
  function sections(name, payload) {
    if (payload === undefined || payload === null) {
      return {};
    }
    if (isObject(payload)) {
      if (own(payload, name)) {
        return payload;
      }
      for (var i = 0; i < SECTIONS.length; i++) {
        if (own(payload, SECTIONS[i])) {
          return payload;
        }
      }
    }
    var wrapped = {};
    wrapped[name] = payload;
    return wrapped;
  }

  function send(name, payload) {
    if (typeof name !== "string" || !name) {
      return;
    }
    var parts = sections(name, payload);
    if (name === "CustomerData" && isObject(parts.CustomerData)) {
      remember(parts.CustomerData);
    }
    if (name === "ProductPage" && isObject(parts.ProductPage)) {
      parts = withClick(parts);
    }
    var info = {eventName: name, siteId: siteId, datetime: Date.now(), cookies: {sc: sc}};
    var k;
    for (k in identity) {
      if (own(identity, k)) { info[k] = identity[k]; }
    }
    var envelope = {GeneralInfo: info};
    for (k in parts) {
      if (!own(parts, k)) {
        continue;
      }
      if (k === "GeneralInfo") {
        /* the page's own GeneralInfo (identifiers, s_location) joins ours; ours names the event */
        for (var g in parts[k]) {
          if (own(parts[k], g) && !own(info, g)) { info[g] = parts[k][g]; }
        }
      } else {
        envelope[k] = parts[k];
      }
    }
    post(JSON.stringify(envelope));
  }

  /* Recommendation lists (recoms' own): `impressions` when a list is shown; `click` is remembered and
   * sent with the product's next ProductPage, i.e. when the visitor arrives where the click led. A list
   * is named by the recommendation id its response carried (X-Recommendation-Id), else by its data source. */
  var CLICKS = "recomsClicks";
  var CLICK_TTL_MS = 30 * 60 * 1000;
  function listRef(list) {
    var ref = {};
    if (typeof list === "number" || /^[0-9]+$/.test(String(list))) {
      ref.datasourceId = String(list);
    } else if (typeof list === "string" && list) {
      ref.recommendationId = list;
    }
    return ref;
  }
  function clicks() {
    try {
      var c = JSON.parse(w.sessionStorage.getItem(CLICKS) || "{}");
      return isObject(c) ? c : {};
    } catch (e) {
      return {};
    }
  }
  function saveClicks(c) {
    try { w.sessionStorage.setItem(CLICKS, JSON.stringify(c)); } catch (e) { /* storage disabled: no click */ }
  }
  function impressions(list, productIds, container) {
    if (!productIds || !productIds.length) {
      return;
    }
    var section = listRef(list);
    section.Products = [];
    for (var i = 0; i < productIds.length; i++) {
      section.Products.push({product_id: String(productIds[i]), container_type: container || "recommendations"});
    }
    send("ProductImpressions", {ProductImpressions: section});
  }
  function click(list, productId) {
    var c = clicks();
    c[String(productId)] = {ref: listRef(list), at: Date.now()};
    saveClicks(c);
  }
  function withClick(parts) {
    var page = parts.ProductPage;
    var key = page.productKey !== undefined ? page.productKey : page.product_id;
    var c = clicks();
    var entry = key !== undefined ? c[String(key)] : null;
    if (!entry || Date.now() - entry.at > CLICK_TTL_MS || page.recommendationId || page.datasourceId) {
      return parts;
    }
    delete c[String(key)];
    saveClicks(c);
    var copy = {}, out = {}, k;
    for (k in page) {
      if (own(page, k)) { copy[k] = page[k]; }
    }
    for (k in entry.ref) {
      if (own(entry.ref, k)) { copy[k] = entry.ref[k]; }
    }
    for (k in parts) {
      if (own(parts, k)) { out[k] = parts[k]; }
    }
    out.ProductPage = copy;
    return out;
  }

  /* A page's call never breaks the page. */
  function safely(fn) {
    return function () {
      try {
        return fn.apply(null, arguments);
      } catch (e) {
        if (w.console && w.console.warn) { w.console.warn("recoms tracker:", e); }
      }
    };
  }

  var options = {};
  var commands = {
    /* init(options[, appInbox]): recorded; App Inbox and its getAuthTokenCallback are not provided. */
    init: function (opts) {
      if (isObject(opts)) { options = opts; }
    },
    sendEvent: send,
    sendEventWithTags: send
  };
  var run = safely(function (args) {
    /* The snippet's stub queues `f.c(arguments)`, i.e. each call's arguments wrapped in another. */
    if (args && args.length === 1 && args[0] && typeof args[0] === "object" && typeof args[0].length === "number") {
      args = args[0];
    }
    var name = args && args[0];
    if (typeof name === "string" && own(commands, name)) {
      commands[name].apply(null, Array.prototype.slice.call(args, 1));
    }
  });

  /* Take over the queue: the snippet's stub (`.c` pushes onto `.q`) or Shopify's fallback (`.q` only). */
  function liveQueue() {
    var q = [];
    q.push = function () {
      for (var i = 0; i < arguments.length; i++) { run(arguments[i]); }
      return 0;
    };
    return q;
  }
  var previous = w.eS;
  var pending = previous && previous.q && previous.q.length ? Array.prototype.slice.call(previous.q) : [];
  var eS = function () { run(arguments); };
  eS.c = run;
  eS.q = liveQueue();
  eS.recoms = true;
  eS.options = function () { return options; };
  if (typeof previous === "function") {
    /* a stale reference to the stub now runs its calls too */
    previous.c = run;
    previous.q = eS.q;
  }
  w.eS = eS;
  for (var i = 0; i < pending.length; i++) {
    run(pending[i]);
  }

  w.recoms = {
    track: safely(send),
    identify: safely(function (data) {
      if (isObject(data)) {
        remember(data);
        send("CustomerData", data);
      }
    }),
    impressions: safely(impressions),
    click: safely(click),
    cookie: function () { return sc; }
  };
})(window, document);
