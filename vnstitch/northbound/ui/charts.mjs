// The forecast chart: uPlot (vendored, a global) draws one pair's forecast mean and upper bound
// against the measured rate over the last hour the page has seen, anomalies as red points.

export function createForecastChart(container) {
  let plot = null;
  let shown = null;

  function options(title, width) {
    return {
      title,
      width,
      height: 220,
      scales: { x: { time: true } }, // uPlot labels the axis in local time
      series: [
        {},
        { label: "mean", stroke: "#1f6feb", width: 2 },
        { label: "upper", stroke: "#7aa7f0", dash: [6, 4], width: 1.5 },
        { label: "measured", stroke: "#1d2530", width: 1.5 },
        {
          label: "anomaly",
          stroke: "#d1342f",
          paths: () => null,
          points: { show: true, size: 8, fill: "#d1342f" },
        },
      ],
      axes: [{}, { label: "Mbit/s" }],
    };
  }

  return {
    /** Show ``key``'s series (or nothing); called again with fresh data after each sample. */
    show(key, series) {
      if (!key || !series || series.t.length === 0) {
        if (plot) plot.destroy();
        plot = null;
        shown = null;
        container.textContent = key ? `${key}: no samples yet` : "Select a pair to chart it.";
        return;
      }
      const data = [series.t, series.mean, series.upper, series.measured, series.anomaly];
      if (plot && shown === key) {
        plot.setData(data);
        return;
      }
      if (plot) plot.destroy();
      container.textContent = "";
      const width = Math.max(320, container.clientWidth || 480);
      // eslint-disable-next-line no-undef, new-cap
      plot = new uPlot(options(`${key} (last hour seen by this page)`, width), data, container);
      shown = key;
    },
  };
}
