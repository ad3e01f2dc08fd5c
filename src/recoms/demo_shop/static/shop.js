/* The demo shop's pages, as a shop's own site would write them: recoms' tracker for events, the shop's
 * server for a contact token, /api/v1/recoms/<id> with ES-TOKEN for each recommendation block. */
(function () {
  "use strict";
  var body = document.body;
  var TOKEN = "demoToken";
  var CART = "demoCart";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function track(name, payload) { if (window.recoms) { window.recoms.track(name, payload); } }
  function money(n) { return Number(n).toFixed(2); }

  /* --- the cart, kept in the browser --- */
  function cart() {
    try { return JSON.parse(localStorage.getItem(CART) || "[]"); } catch (e) { return []; }
  }
  function saveCart(lines) {
    localStorage.setItem(CART, JSON.stringify(lines));
    $("#cart-count").textContent = lines.reduce(function (n, l) { return n + l.quantity; }, 0);
  }
  function cartEvent(lines) {
    var guid = localStorage.getItem("demoCartGuid");
    if (!guid) { guid = "cart-" + Date.now(); localStorage.setItem("demoCartGuid", guid); }
    track("StatusCart", {GUID: guid, Products: lines.map(function (l) {
      return {productKey: l.id, price: l.price, quantity: l.quantity};
    })});
  }
  saveCart(cart());

  /* --- recommendations: the token flow, one request at a time (a token works once) --- */
  var queue = Promise.resolve();
  function newToken() {
    return fetch("/demo/shop/token", {method: "POST", credentials: "same-origin"})
      .then(function (r) { return r.json(); }).then(function (d) { return d.token; });
  }
  function call(dsId, params, token, retry) {
    return fetch("/api/v1/recoms/" + dsId + "?" + params, {headers: {"ES-TOKEN": token}}).then(function (r) {
      var next = r.headers.get("ES-TOKEN");
      if (next) { sessionStorage.setItem(TOKEN, next); } else { sessionStorage.removeItem(TOKEN); }
      if (r.status === 401 && retry) {
        return newToken().then(function (t) { return call(dsId, params, t, false); });
      }
      if (!r.ok) { return {rid: null, products: []}; }
      return r.json().then(function (products) {
        return {rid: r.headers.get("X-Recommendation-Id"), products: products};
      });
    });
  }
  function recommend(dsId, params) {
    var answer = queue.then(function () {
      var stored = sessionStorage.getItem(TOKEN);
      return (stored ? Promise.resolve(stored) : newToken()).then(function (t) { return call(dsId, params, t, true); });
    });
    queue = answer.catch(function () { return null; });
    return answer;
  }
  function image(p) {
    var link = p.tags_image_link || "";
    return link && link.indexOf("https://demo.recoms.local/") !== 0 ? link : "/demo/shop/img/" + encodeURIComponent(p.id) + ".svg";
  }
  function block(section, params) {
    var dsId = section.getAttribute("data-ds");
    if (!dsId) { section.hidden = true; return; }
    recommend(dsId, params).then(function (answer) {
      var list = $(".recs", section);
      var products = answer.products.slice(0, 8);
      /* the list's name for its impressions and clicks: its recommendation id, else its data source */
      var ref = answer.rid || dsId;
      list.innerHTML = "";
      products.forEach(function (p) {
        var li = document.createElement("li");
        li.className = "card";
        li.setAttribute("data-product", p.id);
        var a = document.createElement("a");
        a.href = "/demo/shop/product/" + encodeURIComponent(p.id);
        a.addEventListener("click", function () { if (window.recoms) { window.recoms.click(ref, p.id); } });
        var img = document.createElement("img");
        img.src = image(p);
        img.alt = "";
        var name = document.createElement("span");
        name.className = "name";
        name.textContent = p.name;
        var price = document.createElement("span");
        price.className = "price";
        price.textContent = money(p.price);
        a.appendChild(img); a.appendChild(name); a.appendChild(price);
        li.appendChild(a);
        list.appendChild(li);
      });
      $(".empty", section).hidden = products.length > 0;
      section.setAttribute("data-loaded", answer.rid || "yes");
      if (products.length && window.recoms) {
        window.recoms.impressions(ref, products.map(function (p) { return p.id; }), section.getAttribute("data-block"));
      }
    });
  }

  /* --- the pages --- */
  var productEl = $("#product");
  if (productEl) {
    var id = productEl.getAttribute("data-product");
    track("ProductPage", {productKey: id, price: Number(productEl.getAttribute("data-price")),
      isInStock: Number(productEl.getAttribute("data-in-stock"))});
    block($("#alternatives"), "products=" + encodeURIComponent(id));
    block($("#also-bought"), "products=" + encodeURIComponent(id));
    var add = $("#add-to-cart");
    if (add) {
      add.addEventListener("click", function () {
        var lines = cart();
        var line = lines.filter(function (l) { return l.id === id; })[0];
        if (line) { line.quantity += 1; } else {
          lines.push({id: id, name: productEl.getAttribute("data-name"), price: Number(productEl.getAttribute("data-price")),
            image: productEl.getAttribute("data-image"), quantity: 1});
        }
        saveCart(lines);
        cartEvent(lines);
        add.textContent = "Added ✓";
      });
    }
  } else if ($("#cart-lines")) {
    track("StatusCartPage", {});
    var render = function () {
      var lines = cart();
      var list = $("#cart-lines");
      list.innerHTML = "";
      lines.forEach(function (l) {
        var li = document.createElement("li");
        li.setAttribute("data-product", l.id);
        li.innerHTML = '<img alt=""><span class="name"></span><span class="qty"></span><span class="price"></span>';
        $("img", li).src = l.image;
        $(".name", li).textContent = l.name;
        $(".qty", li).textContent = "× " + l.quantity;
        $(".price", li).textContent = money(l.price * l.quantity);
        list.appendChild(li);
      });
      var total = lines.reduce(function (n, l) { return n + l.price * l.quantity; }, 0);
      $("#cart-empty").hidden = lines.length > 0;
      $("#cart-total").textContent = lines.length ? "Total " + money(total) : "";
      $("#checkout").hidden = !lines.length;
      return lines;
    };
    var lines = render();
    if (lines.length) {
      block($("#cross-sell"), lines.map(function (l) { return "products=" + encodeURIComponent(l.id); }).join("&"));
    } else {
      $("#cross-sell .empty").hidden = false;
    }
    $("#checkout").addEventListener("click", function () {
      var bought = cart();
      var number = "W" + Date.now();
      track("PurchasedItems", {OrderNumber: number, GUID: localStorage.getItem("demoCartGuid") || "",
        Products: bought.map(function (l) { return {product_id: l.id, unit_price: l.price, quantity: l.quantity}; })});
      saveCart([]);
      localStorage.removeItem("demoCartGuid");
      render();
      $("#thanks").textContent = "Thank you: order " + number + " is placed.";
      $("#thanks").hidden = false;
    });
  } else if ($("#personal")) {
    track("MainPage", {});
    block($("#personal"), "");
  }
})();
