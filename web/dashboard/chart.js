// chart.js: the throughput chart (processed and failed jobs per second),
// drawn with uPlot in the theme's colours, sized to its container. The x axis
// spans the whole window asked for (an hour shows as an hour even when the
// history is shorter), labelled in local hours and minutes.

import { h } from "./dom.js";
import { rate } from "./format.js";

const HEIGHT = 240;

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// Returns {setData({t, processed, failed}), destroy()}.
export function throughputChart(container) {
  const uPlot = window.uPlot;
  if (typeof uPlot !== "function") {
    container.append(h("p", { class: "chart-missing" }, "The chart library did not load."));
    return { setData() {}, destroy() {} };
  }

  let data = [[], [], []];
  let plot = null;
  let span = null; // [from, to] in unix seconds: the window shown

  function options(width) {
    const axis = cssVar("--chart-axis");
    const grid = cssVar("--chart-grid");
    const axisStyle = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      width,
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: (u, min, max) => (span ? span : [min, max]) },
        y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
      },
      series: [
        { label: "Time" },
        { label: "Processed", stroke: cssVar("--chart-processed"), fill: cssVar("--chart-processed-fill"), width: 2, points: { show: false },
          value: (u, v) => (v === null || v === undefined ? "—" : rate(v)) },
        { label: "Failed", stroke: cssVar("--chart-failed"), width: 2, points: { show: false },
          value: (u, v) => (v === null || v === undefined ? "—" : rate(v)) },
      ],
      axes: [
        { ...axisStyle, label: "Local time", labelSize: 20, space: 70,
          incrs: [60, 120, 300, 600, 900, 1800, 3600, 7200],
          values: (u, ticks) => ticks.map((t) => clock(t)) },
        { ...axisStyle, label: "Jobs per second", labelSize: 20, size: 56,
          values: (u, ticks) => ticks.map((v) => (v >= 10 ? String(Math.round(v)) : String(+v.toFixed(2)))) },
      ],
    };
  }

  function width() {
    return Math.max(200, Math.floor(container.clientWidth));
  }

  function create() {
    if (plot) plot.destroy();
    plot = new uPlot(options(width()), data, container);
  }

  create();

  let lastWidth = width();
  const resize = new ResizeObserver(() => {
    const w = width();
    if (plot && w !== lastWidth) {
      lastWidth = w;
      plot.setSize({ width: w, height: HEIGHT });
    }
  });
  resize.observe(container);

  const scheme = window.matchMedia("(prefers-color-scheme: dark)");
  const onScheme = () => create();
  scheme.addEventListener("change", onScheme);

  return {
    // window: [from, to] in unix seconds, the span the x axis shows.
    setData(series, window) {
      span = Array.isArray(window) && window.length === 2 ? window : null;
      const t = Array.isArray(series && series.t) ? series.t : [];
      const pick = (name) => t.map((_, i) => {
        const v = series[name] && series[name][i];
        return typeof v === "number" ? v : null;
      });
      data = [t, pick("processed"), pick("failed")];
      if (plot) plot.setData(data);
    },
    destroy() {
      resize.disconnect();
      scheme.removeEventListener("change", onScheme);
      if (plot) plot.destroy();
      plot = null;
    },
  };
}

// "14:05" in the browser's time zone.
function clock(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
