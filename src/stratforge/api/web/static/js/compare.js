// Completed backtests side by side: the comparison report and each run's headline metrics.
import { api } from "./api.js";
import { el, fmt, recordTable } from "./ui.js";

export async function start() {
  const ids = new URLSearchParams(location.search).getAll("ids");
  const summary = document.getElementById("summary");
  if (ids.length < 2) {
    summary.replaceChildren(el("p", { text: "Pick two or more completed backtests on the Runs page, then Compare." }));
    return;
  }
  const jobs = await Promise.all(ids.map((id) => api(`/backtests/${encodeURIComponent(id)}`)));
  summary.replaceChildren(
    recordTable(
      jobs,
      [
        { key: "id", label: "Run", format: (id) => el("a", { href: `/runs/backtests/${id}`, text: id }) },
        { key: "strategy" },
        { key: "data" },
        { key: "return", num: true, get: (j) => j.metrics?.total_return, format: fmt.pct },
        { key: "sharpe", num: true, get: (j) => j.metrics?.sharpe, format: (v) => fmt.num(v) },
        { key: "max dd", num: true, get: (j) => j.metrics?.max_drawdown, format: fmt.pct },
      ],
      "Compared runs",
    ),
  );
  document.getElementById("report-section").hidden = false;
  const query = new URLSearchParams(ids.map((id) => ["ids", id]));
  const item = await api(`/reports/compare.json?${query}`);
  await window.Bokeh.embed.embed_item(item, "report");
}
