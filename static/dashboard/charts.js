/* Supportbot admin dashboard charts: small hand-written SVG charts, no library and no CDN.
 * Reads the figures the page embeds (json_script "dashboard-data") and draws into each
 * [data-chart] element. Every number is also in the page's tables and the CSV export. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 640, H = 240, PAD = { top: 12, right: 12, bottom: 34, left: 56 };
  var TIER_COLOURS = { mini: "#7fb3d5", instant: "#2f5bea", thinking: "#8e44ad", pro: "#d35400" };
  var SERIES_COLOURS = ["#2f5bea", "#d35400", "#27ae60", "#8e44ad"];

  function node(tag, attrs, parent) {
    var element = document.createElementNS(SVG, tag);
    for (var key in attrs) element.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(element);
    return element;
  }
  function text(parent, x, y, content, attrs) {
    var label = node("text", Object.assign({ x: x, y: y, "font-size": 11, fill: "#555" }, attrs || {}), parent);
    label.textContent = content;
    return label;
  }
  function tooltip(element, content) { node("title", {}, element).textContent = content; }
  function colour(name, index) { return TIER_COLOURS[name] || SERIES_COLOURS[index % SERIES_COLOURS.length]; }

  function frame(container) {
    // Draw at the container's own width so text keeps its size in wide and narrow cards.
    W = Math.max(320, Math.round(container.clientWidth || 640));
    var svg = node("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", preserveAspectRatio: "xMidYMid meet" });
    container.appendChild(svg);
    return svg;
  }
  function niceMax(value) {
    if (!(value > 0)) return 1;
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * magnitude >= value) return steps[i] * magnitude;
    return 10 * magnitude;
  }
  function yAxis(svg, max, format) {
    for (var i = 0; i <= 4; i++) {
      var value = max * i / 4, y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - i / 4);
      node("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, stroke: "#e5e5e5" }, svg);
      text(svg, PAD.left - 6, y + 4, format(value), { "text-anchor": "end" });
    }
  }
  function xLabels(svg, labels, step, offset) {
    var every = Math.max(1, Math.ceil(labels.length / 10));
    labels.forEach(function (label, i) {
      if (i % every) return;
      text(svg, PAD.left + step * i + offset, H - PAD.bottom + 16, label.slice(5), { "text-anchor": "middle" });
    });
  }
  function legend(container, names) {
    var list = document.createElement("ul");
    list.className = "dash-legend";
    names.forEach(function (name, i) {
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "dash-swatch";
      swatch.style.background = colour(name, i);
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(name));
      list.appendChild(item);
    });
    container.appendChild(list);
  }
  function y(value, max) { return PAD.top + (H - PAD.top - PAD.bottom) * (1 - value / max); }

  function stackedBars(container, labels, series, format) {
    var names = Object.keys(series);
    var totals = labels.map(function (_, i) { return names.reduce(function (sum, n) { return sum + (series[n][i] || 0); }, 0); });
    var max = niceMax(Math.max.apply(null, totals.concat([0])));
    var svg = frame(container), step = (W - PAD.left - PAD.right) / Math.max(labels.length, 1);
    yAxis(svg, max, format);
    labels.forEach(function (label, i) {
      var base = 0;
      names.forEach(function (name, k) {
        var value = series[name][i] || 0;
        if (!value) return;
        var top = y(base + value, max), bottom = y(base, max);
        var bar = node("rect", { x: PAD.left + step * i + step * 0.15, y: top, width: step * 0.7, height: Math.max(bottom - top, 0.5), fill: colour(name, k) }, svg);
        tooltip(bar, label + " " + name + ": " + format(value));
        base += value;
      });
    });
    xLabels(svg, labels, step, step / 2);
    legend(container, names);
  }

  function lines(container, labels, series, max, format) {
    var svg = frame(container), step = (W - PAD.left - PAD.right) / Math.max(labels.length - 1, 1);
    var all = [];
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) all.push(v); }); });
    max = max || niceMax(Math.max.apply(null, all.concat([0])));
    yAxis(svg, max, format);
    series.forEach(function (s, k) {
      var path = "", pen = "M";
      s.values.forEach(function (value, i) {
        if (value === null) { pen = "M"; return; }
        var px = PAD.left + step * i, py = y(value, max);
        path += pen + px.toFixed(1) + "," + py.toFixed(1) + " ";
        pen = "L";
        tooltip(node("circle", { cx: px, cy: py, r: 2.5, fill: colour(s.name, k) }, svg), labels[i] + " " + s.name + ": " + format(value));
      });
      node("path", { d: path, fill: "none", stroke: colour(s.name, k), "stroke-width": 2 }, svg);
    });
    xLabels(svg, labels, step, 0);
    legend(container, series.map(function (s) { return s.name; }));
  }

  function groupedBars(container, groups, seriesNames, values, format) {
    var svg = frame(container), step = (W - PAD.left - PAD.right) / Math.max(groups.length, 1);
    var flat = [];
    values.forEach(function (row) { row.forEach(function (v) { if (v !== null) flat.push(v); }); });
    var max = niceMax(Math.max.apply(null, flat.concat([0])));
    var width = step * 0.7 / seriesNames.length;
    yAxis(svg, max, format);
    groups.forEach(function (group, i) {
      seriesNames.forEach(function (name, k) {
        var value = values[i][k];
        if (value === null) return;
        var bar = node("rect", { x: PAD.left + step * i + step * 0.15 + width * k, y: y(value, max), width: width * 0.92, height: y(0, max) - y(value, max), fill: SERIES_COLOURS[k] }, svg);
        tooltip(bar, group + " " + name + ": " + format(value));
      });
      text(svg, PAD.left + step * i + step / 2, H - PAD.bottom + 16, group, { "text-anchor": "middle" });
    });
    legend(container, seriesNames);
  }

  // One row per category: its name, a bar for the count, and the figures that go with it as text.
  function horizontalBars(container, rows, label, value, note) {
    if (!rows.length) { container.textContent = "No tagged conversations in this period."; return; }
    var rowHeight = 26, left = 230, right = 250;
    var svg = frame(container);
    var height = PAD.top + rows.length * rowHeight;
    svg.setAttribute("viewBox", "0 0 " + W + " " + height);
    var max = niceMax(Math.max.apply(null, rows.map(value).concat([0])));
    var width = Math.max(W - left - right, 40);
    rows.forEach(function (row, i) {
      var y0 = PAD.top + i * rowHeight;
      text(svg, left - 8, y0 + 16, label(row), { "text-anchor": "end", "font-size": 12, fill: "#333" });
      var bar = node("rect", { x: left, y: y0 + 4, width: Math.max(width * value(row) / max, 1), height: rowHeight - 9, fill: SERIES_COLOURS[0] }, svg);
      tooltip(bar, label(row) + ": " + note(row));
      text(svg, left + width * value(row) / max + 6, y0 + 16, note(row), { "font-size": 11 });
    });
  }

  var money = function (v) { return "$" + (v >= 1 ? v.toFixed(2) : v.toFixed(4)); };
  var percent = function (v) { return Math.round(v * 100) + "%"; };
  var score = function (v) { return v.toFixed(1); };
  var ms = function (v) { return v >= 1000 ? (v / 1000).toFixed(1) + " s" : Math.round(v) + " ms"; };

  var draw = {
    cost_by_tier: function (c, d) { stackedBars(c, d.days, d.cost_by_tier, money); },
    cost_per_resolved: function (c, d) { lines(c, d.days, [{ name: "cost per resolved", values: d.cost_per_resolved }], 0, money); },
    answer_share: function (c, d) {
      var tiers = Object.keys(d.answer_share);
      groupedBars(c, tiers, ["share of answers"], tiers.map(function (t) { return [d.answer_share[t]]; }), percent);
    },
    rates: function (c, d) {
      lines(c, d.days, [
        { name: "bot resolution", values: d.bot_resolution_rate },
        { name: "handoff", values: d.handoff_rate },
        { name: "escalation", values: d.escalation_rate }
      ], 1, percent);
    },
    satisfaction: function (c, d) {
      lines(c, d.days, [{ name: "CSAT (ratings)", values: d.csat_mean }, { name: "estimate", values: d.estimate_mean }], 5, score);
    },
    contact_reasons: function (c, d) {
      horizontalBars(c, d.contact_reasons, function (r) { return r.reason; }, function (r) { return r.conversations; }, function (r) {
        return r.conversations + " \u00b7 bot " + (r.bot_resolution_rate === null ? "\u2013" : percent(r.bot_resolution_rate))
          + " \u00b7 CSAT " + (r.csat_mean === null ? "\u2013" : score(r.csat_mean));
      });
    },
    time_to_first_token: function (c, d) {
      var tiers = Object.keys(d.time_to_first_token);
      groupedBars(c, tiers, ["p50", "p95"], tiers.map(function (t) { return d.time_to_first_token[t]; }), ms);
    }
  };

  function start() {
    var source = document.getElementById("dashboard-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (container) {
      var render = draw[container.getAttribute("data-chart")];
      if (render) render(container, data);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
