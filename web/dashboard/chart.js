// chart.js: the throughput chart (processed and failed jobs per second),
// drawn with uPlot in the theme's colours, sized to its container.

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

  function options(width) {
    const axis = cssVar("--chart-axis");
    const grid = cssVar("--chart-grid");
    const axisStyle = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      width,
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      series: [
        { label: "Time" },
        { label: "Processed", stroke: cssVar("--chart-processed"), fill: cssVar("--chart-processed-fill"), width: 2, points: { show: false },
          value: (u, v) => (v === null || v === undefined ? "—" : rate(v)) },
        { label: "Failed", stroke: cssVar("--chart-failed"), width: 2, points: { show: false },
          value: (u, v) => (v === null || v === undefined ? "—" : rate(v)) },
      ],
      axes: [
        { ...axisStyle },
        { ...axisStyle, size: 56, values: (u, ticks) => ticks.map((v) => (v >= 10 ? String(Math.round(v)) : String(+v.toFixed(2)))) },
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
    setData(series) {
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
