/**
 * The dashboard's only script, served as `/assets/app.js` (the CSP allows no
 * inline script): draws the uPlot charts from the data in the page and runs
 * the live tail. Text from events is only ever set with `textContent`.
 *
 * @module
 */

/** The script's text. */
export const APP_JS: string = `"use strict";
(function () {
  document.documentElement.classList.add("js");
  var COLORS = {
    critical: "#f43f5e", high: "#fb923c", medium: "#facc15", low: "#38bdf8", info: "#94a3b8",
    other: "#64748b", alerts: "#f43f5e", auth: "#a78bfa", firewall: "#fb923c", system: "#34d399",
    docker: "#22d3ee", addrwatch: "#facc15", object: "#60a5fa", heartbeat: "#64748b",
  };
  var SPARE = ["#34d399", "#f472b6", "#22d3ee", "#a3e635", "#e879f9", "#fbbf24"];

  function colorOf(name, i) { return COLORS[name] || SPARE[i % SPARE.length]; }

  function drawChart(el) {
    var d;
    try { d = JSON.parse(el.getAttribute("data-series")); } catch (e) { return; }
    var names = Object.keys(d.s);
    var n = d.t.length;
    var acc = new Array(n).fill(0);
    var stacked = names.map(function (name) {
      var v = d.s[name];
      return v.map(function (x, i) { acc[i] += x; return acc[i]; });
    });
    var data = [d.t];
    var series = [{}];
    var bars = uPlot.paths.bars({ size: [0.75, 40] });
    for (var k = names.length - 1; k >= 0; k--) {
      (function (name, k) {
        var c = colorOf(name, k);
        data.push(stacked[k]);
        series.push({
          label: name, stroke: c, fill: c, width: 0, paths: bars, points: { show: false },
          value: function (u, v, si, i) { return i == null ? "" : String(d.s[name][i]); },
        });
      })(names[k], k);
    }
    var axis = { stroke: "#8b98ad", grid: { stroke: "rgba(148,163,184,0.12)", width: 1 },
      ticks: { stroke: "rgba(148,163,184,0.2)", width: 1 }, font: "11px system-ui, sans-serif" };
    var height = el.classList.contains("small") ? 150 : 210;
    var opts = {
      width: Math.max(200, el.clientWidth), height: height, series: series,
      axes: [axis, Object.assign({}, axis, { size: 44 })],
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      legend: { show: true, live: true }, cursor: { points: { show: false } },
    };
    var plot = new uPlot(opts, data, el);
    el.setAttribute("data-drawn", String(acc.reduce(function (a, b) { return a + b; }, 0)));
    var timer;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { plot.setSize({ width: Math.max(200, el.clientWidth), height: height }); }, 100);
    });
  }

  function charts() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(drawChart);
  }

  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function tail() {
    var list = document.getElementById("tail");
    if (!list) return;
    var base = list.getAttribute("data-stream");
    var state = document.getElementById("tail-state");
    var pause = document.getElementById("tail-pause");
    var clear = document.getElementById("tail-clear");
    var last = null, es = null, paused = false;
    function setState(text, cls) { state.textContent = text; state.className = "live " + (cls || ""); }
    function add(lines) {
      lines.forEach(function (l) {
        var li = document.createElement("li");
        li.className = "sev-row-" + (l.severity || "none");
        li.setAttribute("data-key", l.key);
        li.appendChild(span("t", l.time.replace("T", " ").replace(/\\.\\d+Z$|Z$/, "")));
        li.appendChild(span("cat cat-" + l.category, l.category));
        li.appendChild(span("h", l.host));
        li.appendChild(span("badge sev-" + (l.severity || "other"), l.severity || "·"));
        li.appendChild(span("x", l.text));
        list.insertBefore(li, list.firstChild);
      });
      while (list.childNodes.length > 1000) list.removeChild(list.lastChild);
    }
    function connect() {
      var url = base + (last ? (base.indexOf("?") >= 0 ? "&" : "?") + "cursor=" + encodeURIComponent(last) : "");
      es = new EventSource(url);
      es.addEventListener("ready", function (e) { if (e.lastEventId) last = e.lastEventId; setState("live", "on"); });
      es.addEventListener("rows", function (e) {
        last = e.lastEventId;
        try { add(JSON.parse(e.data)); } catch (err) { /* a broken message is skipped */ }
      });
      es.onerror = function () { if (!paused) setState("reconnecting…", "warn"); };
    }
    pause.addEventListener("click", function () {
      if (paused) { paused = false; pause.textContent = "Pause"; connect(); }
      else { paused = true; if (es) es.close(); pause.textContent = "Resume"; setState("paused", "paused"); }
    });
    clear.addEventListener("click", function () { list.textContent = ""; });
    connect();
  }

  function start() { charts(); tail(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
`;
