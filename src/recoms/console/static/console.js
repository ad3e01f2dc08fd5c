/* recoms console: copy buttons, local times, the data source editor with its live preview, promoting a
 * variant. Plain browser JavaScript, no build step; it talks only to /console/api on this origin. */
(function () {
  "use strict";

  var HEADERS = {"Content-Type": "application/json", "X-Recoms-Console": "1"};
  var OPS = ["eq", "ne", "in", "lt", "lte", "gt", "gte", "contains"];
  var NUMERIC_OPS = ["lt", "lte", "gt", "gte"];
  var RULE_TYPES = ["show_only", "show_more", "do_not_show", "diversity", "relative_price_range", "contact_field",
    "conditional"];
  var FIELDS = ["brand", "category", "price", "isInStock", "name", "tags_"];

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== undefined && attrs[k] !== null) {
        node.setAttribute(k, attrs[k]);
      }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function labelled(text, input, field) {
    return el("label", {"class": "field", "data-field": field}, [document.createTextNode(text + " "), input]);
  }
  function list(text) {
    return (text || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }
  function api(method, url, body) {
    return fetch(url, {method: method, headers: HEADERS, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return {status: r.status, data: data}; });
    });
  }

  /* --- everywhere --- */
  function copy(text, button) {
    var done = function () { button.textContent = "Copied"; button.classList.add("copied"); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else { fallbackCopy(text); done(); }
  }
  function fallbackCopy(text) {
    var area = el("textarea", {"aria-hidden": "true"});
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* the id stays on screen to copy by hand */ }
    document.body.removeChild(area);
  }
  $all("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () { copy(b.getAttribute("data-copy"), b); });
  });
  $all("time[data-ms]").forEach(function (t) {
    var ms = parseInt(t.getAttribute("data-ms"), 10);
    if (ms > 0) { t.textContent = new Date(ms).toLocaleString(); t.title = new Date(ms).toISOString(); }
  });

  /* --- the data source editor --- */
  var form = $("#ds-form");
  if (!form) { return; }
  var algorithms = JSON.parse($("#algorithms-data").textContent);
  var saved = JSON.parse($("#datasource-data").textContent);
  var byName = {};
  algorithms.forEach(function (a) { byName[a.name] = a; });

  function algorithmOptions(select, withSame) {
    if (withSame) { select.appendChild(el("option", {value: "", text: "same as the control"})); }
    algorithms.forEach(function (a) {
      select.appendChild(el("option", {value: a.plugin ? "custom:" + a.name : a.name, text: a.name}));
    });
  }
  function algorithmValue(ds) {
    return ds.algorithm === "custom" ? "custom:" + (ds.params || {}).plugin : ds.algorithm;
  }

  /* parameters of the chosen algorithm */
  var algoSelect = $("#f-algorithm");
  algorithmOptions(algoSelect, false);
  function renderParams(values) {
    var rows = $("#param-rows");
    rows.innerHTML = "";
    var a = byName[algoSelect.value.replace(/^custom:/, "")];
    $("#algorithm-doc").textContent = a ? a.doc + (a.needs ? " (needs " + a.needs + ")" : "") : "";
    if (!a) { return; }
    Object.keys(a.params).forEach(function (name) {
      var dflt = a.params[name];
      var value = values && Object.prototype.hasOwnProperty.call(values, name) ? values[name] : dflt;
      var input;
      if (typeof dflt === "boolean") {
        input = el("input", {type: "checkbox", "data-param": name});
        input.checked = !!value;
      } else {
        input = el("input", {type: typeof dflt === "number" ? "number" : "text", step: "any", "data-param": name});
        input.value = value;
      }
      rows.appendChild(labelled(name, input, "params." + name));
    });
  }
  function readParams() {
    var a = byName[algoSelect.value.replace(/^custom:/, "")];
    var out = {};
    $all("[data-param]", $("#param-rows")).forEach(function (input) {
      var name = input.getAttribute("data-param");
      var dflt = a.params[name];
      var value = typeof dflt === "boolean" ? input.checked : typeof dflt === "number"
        ? (input.value === "" ? dflt : Number(input.value)) : input.value;
      if (value !== dflt) { out[name] = value; }
    });
    if (algoSelect.value.indexOf("custom:") === 0) { out = Object.assign({plugin: algoSelect.value.slice(7)}, out); }
    return out;
  }

  /* rules */
  function ruleRow(rule) {
    rule = rule || {type: "do_not_show", field: "brand", op: "eq", values: []};
    var row = el("div", {"class": "rule rowbox"});
    var type = el("select", {"class": "r-type"});
    RULE_TYPES.forEach(function (t) { type.appendChild(el("option", {value: t, text: t.replace(/_/g, " ")})); });
    type.value = rule.type;
    var body = el("div", {"class": "r-body"});
    var remove = el("button", {type: "button", "class": "small remove", text: "Remove"});
    row.appendChild(labelled("Rule", type));
    row.appendChild(body);
    row.appendChild(remove);
    function draw(r) {
      body.innerHTML = "";
      var t = type.value;
      if (t === "show_only" || t === "show_more" || t === "do_not_show") {
        var field = el("input", {"class": "r-field", list: "rule-fields", value: r.field || "brand"});
        var op = el("select", {"class": "r-op"});
        OPS.forEach(function (o) { op.appendChild(el("option", {value: o, text: o})); });
        op.value = r.op || "eq";
        var values = el("input", {"class": "r-values", value: (r.values || []).join(", "), placeholder: "a, b"});
        body.appendChild(labelled("Field", field));
        body.appendChild(labelled("Op", op));
        body.appendChild(labelled("Values", values));
        if (t === "show_more") {
          body.appendChild(labelled("Boost", el("input", {"class": "r-boost", type: "number", step: "any",
            value: r.boost || 2})));
        }
      } else if (t === "diversity") {
        body.appendChild(labelled("Field", el("input", {"class": "r-field", list: "rule-fields", value: r.field || "brand"})));
        body.appendChild(labelled("At most", el("input", {"class": "r-max", type: "number", min: 1, value: r.max || 2})));
      } else if (t === "relative_price_range") {
        body.appendChild(labelled("Min %", el("input", {"class": "r-min", type: "number", value: r.min_pct || 70})));
        body.appendChild(labelled("Max %", el("input", {"class": "r-maxpct", type: "number", value: r.max_pct || 130})));
      } else if (t === "contact_field") {
        body.appendChild(labelled("Contact field", el("input", {"class": "r-cfield", value: r.contact_field || ""})));
        body.appendChild(labelled("Product field", el("input", {"class": "r-field", list: "rule-fields", value: r.field || ""})));
        var mode = el("select", {"class": "r-mode"});
        ["show_only", "show_more", "do_not_show"].forEach(function (m) { mode.appendChild(el("option", {value: m, text: m})); });
        mode.value = r.mode || "show_more";
        body.appendChild(labelled("Mode", mode));
      } else {
        var json = el("textarea", {"class": "r-json", rows: 3});
        json.value = JSON.stringify({"if": r["if"] || {field: "category", op: "in", values: []}, then: r.then || []});
        body.appendChild(labelled("If / then (JSON)", json));
      }
    }
    draw(rule);
    type.addEventListener("change", function () { draw({type: type.value}); changed(); });
    remove.addEventListener("click", function () { row.parentNode.removeChild(row); changed(); });
    return row;
  }
  function numbersIf(op, values) {
    return values.map(function (v) { return NUMERIC_OPS.indexOf(op) >= 0 && v !== "" && !isNaN(Number(v)) ? Number(v) : v; });
  }
  function readRule(row) {
    var t = $(".r-type", row).value;
    var val = function (cls) { var n = $(cls, row); return n ? n.value.trim() : ""; };
    if (t === "show_only" || t === "show_more" || t === "do_not_show") {
      var r = {type: t, field: val(".r-field"), op: val(".r-op"), values: numbersIf(val(".r-op"), list(val(".r-values")))};
      if (t === "show_more") { r.boost = Number(val(".r-boost")); }
      return r;
    }
    if (t === "diversity") { return {type: t, field: val(".r-field"), max: parseInt(val(".r-max"), 10)}; }
    if (t === "relative_price_range") { return {type: t, min_pct: Number(val(".r-min")), max_pct: Number(val(".r-maxpct"))}; }
    if (t === "contact_field") { return {type: t, contact_field: val(".r-cfield"), field: val(".r-field"), mode: val(".r-mode")}; }
    var parsed;
    try { parsed = JSON.parse(val(".r-json")); } catch (e) { parsed = {}; }
    return {type: t, "if": parsed["if"], then: parsed.then};
  }
  function numberRows(container, prefix) {
    $all(".rowbox", container).forEach(function (row, i) { row.setAttribute("data-field", prefix + "[" + i + "]"); });
  }

  /* fallback steps */
  function fallbackRow(step) {
    step = step || {algorithm: "bestsellers", params: {}};
    var row = el("div", {"class": "step rowbox"});
    var select = el("select", {"class": "s-algorithm"});
    algorithms.forEach(function (a) { if (!a.plugin) { select.appendChild(el("option", {value: a.name, text: a.name})); } });
    select.value = step.algorithm;
    var params = el("input", {"class": "s-params", value: JSON.stringify(step.params || {}), placeholder: "{}"});
    var remove = el("button", {type: "button", "class": "small remove", text: "Remove"});
    row.appendChild(labelled("Algorithm", select));
    row.appendChild(labelled("Params (JSON)", params));
    row.appendChild(remove);
    remove.addEventListener("click", function () { row.parentNode.removeChild(row); changed(); });
    return row;
  }

  /* variants */
  function variantRow(v) {
    v = v || {share: 50};
    var row = el("div", {"class": "variant rowbox"});
    if (v.id) { row.setAttribute("data-variant-id", v.id); }
    var algorithm = el("select", {"class": "v-algorithm"});
    algorithmOptions(algorithm, true);
    algorithm.value = v.algorithm ? algorithmValue(v) : "";
    var remove = el("button", {type: "button", "class": "small remove", text: "Remove"});
    row.appendChild(labelled("Name", el("input", {"class": "v-name", value: v.name || "", placeholder: "B"})));
    row.appendChild(labelled("Share %", el("input", {"class": "v-share", type: "number", step: "any", min: 0, max: 100,
      value: v.share}), "share"));
    row.appendChild(labelled("Algorithm", algorithm, "algorithm"));
    row.appendChild(labelled("Size", el("input", {"class": "v-size", type: "number", min: 1, max: 100,
      value: v.size || "", placeholder: "same"}), "size"));
    var params = el("input", {"class": "v-params", value: v.params ? JSON.stringify(v.params) : "", placeholder: "same"});
    row.appendChild(labelled("Params (JSON)", params, "params"));
    var rules = el("textarea", {"class": "v-rules", rows: 2, placeholder: "same rules as the control"});
    rules.value = v.rules ? JSON.stringify(v.rules) : "";
    row.appendChild(labelled("Rules (JSON)", rules, "rules"));
    row.appendChild(remove);
    remove.addEventListener("click", function () { row.parentNode.removeChild(row); refreshVariants(); changed(); });
    return row;
  }
  function readVariant(row) {
    var out = {share: Number($(".v-share", row).value)};
    var id = row.getAttribute("data-variant-id");
    if (id) { out.id = parseInt(id, 10); }
    var name = $(".v-name", row).value.trim();
    if (name) { out.name = name; }
    var algorithm = $(".v-algorithm", row).value;
    if (algorithm) { out.algorithm = algorithm.indexOf("custom:") === 0 ? "custom" : algorithm; }
    if (algorithm.indexOf("custom:") === 0) { out.params = {plugin: algorithm.slice(7)}; }
    var size = $(".v-size", row).value;
    if (size !== "") { out.size = parseInt(size, 10); }
    var params = $(".v-params", row).value.trim();
    if (params) { try { out.params = Object.assign(out.params || {}, JSON.parse(params)); } catch (e) { out.params = params; } }
    var rules = $(".v-rules", row).value.trim();
    if (rules) { try { out.rules = JSON.parse(rules); } catch (e) { out.rules = rules; } }
    return out;
  }
  function refreshVariants() {
    var select = $("#p-variant");
    var chosen = select.value;
    select.innerHTML = "";
    select.appendChild(el("option", {value: "", text: "the contact's own"}));
    select.appendChild(el("option", {value: "0", text: "A (control)"}));
    $all(".variant", $("#variant-rows")).forEach(function (row) {
      var id = row.getAttribute("data-variant-id");
      if (id) { select.appendChild(el("option", {value: id, text: $(".v-name", row).value || id})); }
    });
    select.value = chosen;
    $all(".variant", $("#variant-rows")).forEach(function (row, i) {
      row.setAttribute("data-field", "variants[" + i + "]");
      $all("[data-field]", row).forEach(function (f) {
        var own = f.getAttribute("data-field").replace(/^variants\[\d+\]\./, "");
        f.setAttribute("data-field", "variants[" + i + "]." + own);
      });
    });
  }

  /* the whole body, as the API takes it */
  function serialize() {
    numberRows($("#rule-rows"), "rules");
    numberRows($("#fallback-rows"), "fallback");
    refreshVariants();
    var body = {name: $("#f-name").value.trim(), algorithm: algoSelect.value.indexOf("custom:") === 0 ? "custom" : algoSelect.value,
      size: parseInt($("#f-size").value, 10), params: readParams(), rules: $all(".rule", $("#rule-rows")).map(readRule)};
    if (!$("#f-default-fallback").checked) {
      body.fallback = $all(".step", $("#fallback-rows")).map(function (row) {
        var params;
        try { params = JSON.parse($(".s-params", row).value || "{}"); } catch (e) { params = $(".s-params", row).value; }
        return {algorithm: $(".s-algorithm", row).value, params: params};
      });
    }
    var variants = $all(".variant", $("#variant-rows")).map(readVariant);
    if (variants.length) { body.variants = variants; }
    return body;
  }

  /* errors shown at their field */
  function clearErrors() {
    $all(".field-error", form).forEach(function (n) { n.parentNode.removeChild(n); });
    $all(".invalid").forEach(function (n) { n.classList.remove("invalid"); });
    $("#form-error").hidden = true;
  }
  function showErrors(problem) {
    clearErrors();
    var errors = problem.errors || [];
    var placed = false;
    errors.forEach(function (e) {
      var target = null, best = -1;
      $all("[data-field]").forEach(function (node) {
        var f = node.getAttribute("data-field");
        if (e.field && (e.field === f || e.field.indexOf(f + ".") === 0 || e.field.indexOf(f + "[") === 0) && f.length > best) {
          target = node; best = f.length;
        }
      });
      if (target) {
        target.classList.add("invalid");
        target.appendChild(el("span", {"class": "field-error", role: "alert", "data-error-for": e.field, text: e.reason}));
        placed = true;
      }
    });
    if (!placed) {
      $("#form-error").textContent = problem.detail || "the data source could not be saved";
      $("#form-error").hidden = false;
    }
  }

  /* the live preview */
  var timer = null, asked = 0;
  function changed() {
    clearTimeout(timer);
    timer = setTimeout(preview, 350);
  }
  function preview() {
    var number = ++asked;
    var body = serialize();
    if (!body.name) { body.name = "preview"; }
    var request = {datasource: body, products: list($("#p-products").value), category: list($("#p-category").value),
      contact: $("#p-contact").value.trim()};
    if ($("#p-variant").value !== "") { request.variant = parseInt($("#p-variant").value, 10); }
    var status = $("#preview-status");
    status.textContent = "asking…";
    api("POST", "/console/api/preview", request).then(function (answer) {
      if (number !== asked) { return; }
      var target = $("#preview-list");
      target.innerHTML = "";
      if (answer.status !== 200) {
        status.textContent = answer.data.detail || "no preview";
        status.className = "hint error";
        if (answer.status === 422) { showErrors(answer.data); }
        return;
      }
      clearErrors();
      status.className = "hint";
      status.textContent = "variant " + answer.data.variant.name + " · " + answer.data.products.length + " products";
      answer.data.products.forEach(function (p) {
        var price = typeof p.price === "number" ? p.price.toFixed(2) : "";
        target.appendChild(el("li", {"class": "product", "data-product": p.productId}, [
          p.imageUrl ? el("img", {src: p.imageUrl, alt: "", loading: "lazy"}) : el("span", {"class": "noimg"}),
          el("span", {"class": "pname", text: p.name || p.productId}),
          el("span", {"class": "pmeta", text: p.productId + (p.brand ? " · " + p.brand : "")}),
          el("span", {"class": "price", text: price})
        ]));
      });
      target.setAttribute("data-answer", String(number));
    });
  }

  /* fill in what was saved */
  var fallbackCheck = $("#f-default-fallback");
  if (saved) {
    $("#f-name").value = saved.name;
    algoSelect.value = algorithmValue(saved);
    $("#f-size").value = saved.size;
    renderParams(saved.params);
    (saved.rules || []).forEach(function (r) { $("#rule-rows").appendChild(ruleRow(r)); });
    var dflt = JSON.stringify([{algorithm: "bestsellers", params: {scope: "context"}}, {algorithm: "bestsellers", params: {scope: "store"}}]);
    if (JSON.stringify(saved.fallback) !== dflt) {
      fallbackCheck.checked = false;
      (saved.fallback || []).forEach(function (s) { $("#fallback-rows").appendChild(fallbackRow(s)); });
    }
    (saved.variants || []).forEach(function (v) { $("#variant-rows").appendChild(variantRow(v)); });
  } else {
    algoSelect.value = "bestsellers";
    renderParams(null);
  }
  $("#fallback-rows").hidden = fallbackCheck.checked;
  $("#add-fallback").hidden = fallbackCheck.checked;
  form.appendChild(el("datalist", {id: "rule-fields"}, FIELDS.map(function (f) { return el("option", {value: f}); })));
  refreshVariants();

  algoSelect.addEventListener("change", function () { renderParams(null); changed(); });
  fallbackCheck.addEventListener("change", function () {
    $("#fallback-rows").hidden = fallbackCheck.checked;
    $("#add-fallback").hidden = fallbackCheck.checked;
    changed();
  });
  $("#add-rule").addEventListener("click", function () { $("#rule-rows").appendChild(ruleRow()); changed(); });
  $("#add-fallback").addEventListener("click", function () { $("#fallback-rows").appendChild(fallbackRow()); changed(); });
  $("#add-variant").addEventListener("click", function () {
    $("#variant-rows").appendChild(variantRow());
    refreshVariants();
    changed();
  });
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  $all("#preview input, #preview select").forEach(function (n) {
    n.addEventListener("input", changed);
    n.addEventListener("change", changed);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = serialize();
    var status = $("#form-status");
    status.textContent = "saving…";
    var url = saved ? "/console/api/datasources/" + saved.id : "/console/api/datasources";
    api(saved ? "PUT" : "POST", url, body).then(function (answer) {
      if (answer.status === 200 || answer.status === 201) {
        status.textContent = "saved";
        window.location.assign("/console/datasources/" + answer.data.id + "?saved=1");
      } else {
        status.textContent = "not saved";
        showErrors(answer.data);
      }
    });
  });

  $all("button.promote").forEach(function (b) {
    b.addEventListener("click", function () {
      var variant = b.getAttribute("data-variant");
      api("POST", "/console/api/datasources/" + saved.id + "/variants/" + variant + "/promote").then(function (answer) {
        if (answer.status === 200) { window.location.assign("/console/datasources/" + saved.id + "?promoted=" + variant); }
        else { showErrors(answer.data); }
      });
    });
  });

  if ($("#p-products").value || $("#p-contact").value || saved) { changed(); }
})();
