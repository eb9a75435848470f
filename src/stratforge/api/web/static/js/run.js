// One run: its state (live while it runs), metrics, the embedded Bokeh report and its tables.
import { ACTIVE, api, download, watchJob } from "./api.js";
import { badge, confirmAction, el, fmt, notice, recordTable, toast } from "./ui.js";

const CARDS = [
  ["total_return", "Total return", fmt.pct],
  ["cagr", "CAGR", fmt.pct],
  ["sharpe", "Sharpe", fmt.num],
  ["sortino", "Sortino", fmt.num],
  ["calmar", "Calmar", fmt.num],
  ["max_drawdown", "Max drawdown", fmt.pct],
  ["annual_volatility", "Volatility", fmt.pct],
  ["var_95", "VaR 95%", fmt.pct],
  ["cvar_95", "CVaR 95%", fmt.pct],
  ["trades", "Trades", fmt.int],
  ["win_rate", "Win rate", fmt.pct],
  ["profit_factor", "Profit factor", fmt.num],
  ["exposure", "Exposure", fmt.pct],
  ["end_value", "End value", fmt.money],
  ["rolls", "Rolls", fmt.int],
  ["peak_margin_to_equity", "Peak margin / equity", fmt.pct],
];

let resource;
let id;

function summary(job) {
  const rows = [
    ["Status", badge(job.status)],
    ["Kind", job.kind],
    ["Strategy", job.strategy],
    ["Data", job.data],
    ["Created", fmt.when(job.created_at)],
    ["Finished", fmt.when(job.finished_at)],
  ];
  if (job.kind !== "backtest") {
    rows.push(["Trials", `${job.trials_done} done, ${job.trials_failed} failed${job.trials_total ? ` of ${job.trials_total}` : ""}`]);
  }
  if (job.error) rows.push(["Error", el("code", { text: job.error })]);
  const box = document.getElementById("summary");
  box.replaceChildren(
    el("dl", { class: "grid" }, rows.map(([k, v]) => el("div", {}, el("dt", { class: "muted", text: k }), el("dd", { style: "margin:0" }, v)))),
    el("div", { class: "actions", style: "margin-top:.8rem" }, actions(job)),
  );
}

function actions(job) {
  const out = [];
  if (ACTIVE.has(job.status)) {
    out.push(
      el("button", {
        type: "button",
        class: "ghost",
        text: "Cancel run",
        onclick: async () => {
          if (!(await confirmAction(`Cancel ${id}?`, "Cancel run"))) return;
          try {
            summary(await api(`/${resource}/${id}/cancel`, { method: "POST" }));
          } catch (error) {
            notice(error.message);
          }
        },
      }),
    );
  } else {
    out.push(
      el("button", {
        type: "button",
        class: "danger",
        text: "Delete",
        onclick: async () => {
          if (!(await confirmAction(`Delete ${id} and its stored results?`))) return;
          try {
            await api(`/${resource}/${id}`, { method: "DELETE" });
            location.assign("/");
          } catch (error) {
            notice(error.message);
          }
        },
      }),
    );
  }
  if (job.status === "completed") {
    const files = [["result.json", "result", "Result JSON"]];
    if (resource === "backtests") {
      for (const part of ["trades", "orders", "equity", "rolls"]) files.push([`${part}.csv`, `${part}?format=csv`, `${part} CSV`]);
    }
    if (resource === "optimizations") files.push(["trials.csv", "trials?format=csv", "Trials CSV"]);
    for (const [name, path, label] of files) {
      out.push(
        el("button", {
          type: "button",
          class: "ghost",
          text: `Download ${label}`,
          onclick: () => download(`/${resource}/${id}/${path}`, `${id}-${name}`).catch((e) => notice(e.message)),
        }),
      );
    }
    if (!localStorage.getItem("stratforge.apiKey")) {
      // A plain link cannot carry the API key; with one set, the embedded report is the way.
      out.push(el("a", { class: "button ghost", href: `/api/v1/${resource}/${id}/report`, text: "Report page" }));
    }
  }
  return out;
}

function cards(metrics) {
  document.getElementById("cards").replaceChildren(
    ...CARDS.filter(([key]) => metrics[key] !== null && metrics[key] !== undefined).map(([key, label, format]) =>
      el("div", { class: "card" }, el("div", { class: "label", text: label }), el("div", { class: "value", text: format(metrics[key]) })),
    ),
  );
}

async function report() {
  const section = document.getElementById("report-section");
  section.hidden = false;
  const target = document.getElementById("report");
  target.replaceChildren(el("p", { class: "muted", text: "Rendering the report…" }));
  const item = await api(`/${resource}/${id}/report.json`);
  target.replaceChildren();
  await window.Bokeh.embed.embed_item(item, "report");
}

function table(title, rows, columns, limit = 200) {
  const section = el("section", {}, el("h2", { text: `${title} (${rows.length})` }));
  if (!rows.length) return section;
  section.append(recordTable(rows.slice(0, limit), columns, title));
  if (rows.length > limit) section.append(el("p", { class: "muted", text: `First ${limit} of ${rows.length}; download the CSV for all.` }));
  return section;
}

const TRADE_COLUMNS = [
  { key: "ref", label: "#", num: true },
  { key: "data", label: "Feed" },
  { key: "contract", label: "Contract" },
  { key: "direction", label: "Side" },
  { key: "entry_datetime", label: "Opened", format: (v) => (v ? String(v).replace("T", " ") : "–") },
  { key: "exit_datetime", label: "Closed", format: (v) => (v ? String(v).replace("T", " ") : "–") },
  { key: "size", label: "Size", num: true, format: (v) => fmt.num(v, 4) },
  { key: "entry_price", label: "Entry", num: true, format: (v) => fmt.num(v, 4) },
  { key: "exit_price", label: "Exit", num: true, format: (v) => fmt.num(v, 4) },
  { key: "pnl_net", label: "Net PnL", num: true, format: fmt.money },
  { key: "commission", label: "Commission", num: true, format: fmt.money },
  { key: "bars_held", label: "Bars", num: true },
];

async function backtestTables() {
  const trades = await api(`/backtests/${id}/trades`);
  const keys = new Set(trades.flatMap((t) => Object.keys(t)));
  const columns = TRADE_COLUMNS.filter((c) => keys.has(c.key));
  const holder = document.getElementById("tables");
  holder.replaceChildren(table("Trades", trades, columns.length ? columns : [...keys].map((k) => ({ key: k }))));
  const rolls = await api(`/backtests/${id}/rolls`);
  if (rolls.length) {
    holder.append(table("Rolls", rolls, Object.keys(rolls[0]).map((k) => ({ key: k }))));
  }
}

const SUMMARY = {
  efficiency: ["Walk-forward efficiency", (v) => fmt.num(v, 3)],
  oos_total_return: ["Out-of-sample return", fmt.pct],
  windows: ["Windows", fmt.int],
  completed: ["Trials completed", fmt.int],
  failed: ["Trials failed", fmt.int],
  pruned: ["Pruned by constraints", fmt.int],
  wall_time_seconds: ["Wall time, s", (v) => fmt.num(v, 1)],
};

function summaryCards(summary) {
  const cards = Object.entries(SUMMARY)
    .filter(([key]) => typeof summary[key] === "number")
    .map(([key, [label, format]]) => [label, format(summary[key])]);
  const dsr = summary.deflated_sharpe;
  if (dsr && typeof dsr.dsr === "number") cards.push(["Deflated Sharpe ratio", fmt.num(dsr.dsr, 3)]);
  const pbo = summary.pbo;
  if (pbo && typeof pbo.pbo === "number") cards.push(["Overfitting probability", fmt.pct(pbo.pbo)]);
  return cards.map(([label, value]) =>
    el("div", { class: "card" }, el("div", { class: "label", text: label }), el("div", { class: "value", text: value })),
  );
}

async function searchTables(job) {
  const holder = document.getElementById("tables");
  if (job.summary) {
    holder.append(el("section", {}, el("h2", { text: "Search summary" }), el("div", { class: "cards" }, summaryCards(job.summary))));
  }
  const best = job.best;
  if (best) {
    holder.append(
      el("section", {}, el("h2", { text: "Best parameters" }), el("pre", { text: JSON.stringify(best.params ?? best, null, 2) })),
    );
  }
  if (resource === "optimizations") {
    const maximize = job.spec?.maximize !== false;
    const trials = await api(`/optimizations/${id}/trials?sort=objective&descending=${maximize}&limit=50`);
    const names = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
    holder.append(
      table(`Top trials by ${job.spec?.metric || "objective"}`, trials, [
        { key: "number", label: "#", num: true },
        ...names.map((n) => ({ key: n, get: (t) => t.params[n] })),
        { key: "objective", num: true, format: (v) => fmt.num(v, 4) },
        { key: "return", num: true, get: (t) => t.metrics?.total_return, format: fmt.pct },
        { key: "max dd", num: true, get: (t) => t.metrics?.max_drawdown, format: fmt.pct },
        { key: "status" },
      ]),
    );
  }
}

async function show(job) {
  summary(job);
  const live = document.getElementById("live");
  live.hidden = !ACTIVE.has(job.status);
  if (job.status !== "completed") return;
  const metrics = job.metrics || job.best?.metrics;
  if (metrics) cards(metrics);
  document.getElementById("tables").replaceChildren();
  await report().catch((error) => notice(`report: ${error.message}`));
  if (resource === "backtests") await backtestTables();
  else await searchTables(job);
}

async function watch() {
  const progress = document.getElementById("run-progress");
  const message = document.getElementById("run-message");
  const update = (snapshot) => {
    progress.value = snapshot.progress || 0;
    const trials = snapshot.trials_done !== undefined ? ` · ${snapshot.trials_done} trials done` : "";
    message.textContent = `${snapshot.status}${snapshot.message ? `: ${snapshot.message}` : ""}${trials}`;
  };
  await watchJob(resource, id, update);
  const job = await api(`/${resource}/${id}`);
  toast(`${id} ${job.status}`);
  await show(job);
}

export async function start(data) {
  resource = data.resource;
  id = encodeURIComponent(data.id);
  let job;
  try {
    job = await api(`/${resource}/${id}`);
  } catch (error) {
    document.getElementById("summary").replaceChildren(el("p", { class: "error", text: error.message }));
    return;
  }
  document.getElementById("page-title").textContent = `${job.strategy} · ${id}`;
  document.title = `${id} · stratforge`;
  await show(job);
  if (ACTIVE.has(job.status)) await watch();
}
