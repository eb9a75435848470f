// The runs table: backtests, optimisations and walk-forwards, kept live by /api/v1/events.
import { ACTIVE, RESOURCES, api, follow } from "./api.js";
import { badge, confirmAction, el, fmt, notice, toast } from "./ui.js";

const KIND_LABEL = { backtest: "Backtest", optimize: "Optimisation", walkforward: "Walk-forward" };
const PAGE = 50;
const MOST = 500; // the list endpoints' largest page
let shown = PAGE;
let loads = 0; // only the newest list load may replace the table
let jobs = new Map();
const picked = new Set(); // completed backtests chosen for comparison

function filters() {
  const form = document.getElementById("filters");
  return {
    kind: form.kind.value,
    status: form.status.value,
    strategy: form.strategy.value,
  };
}

function matches(job, f = filters()) {
  return (
    (!f.kind || job.kind === f.kind) &&
    (!f.status || job.status === f.status) &&
    (!f.strategy || job.strategy === f.strategy)
  );
}

async function load() {
  const ticket = ++loads;
  const f = filters();
  const query = new URLSearchParams({ limit: String(shown) });
  if (f.status) query.set("status", f.status);
  if (f.strategy) query.set("strategy", f.strategy);
  const kinds = f.kind ? [f.kind] : Object.keys(RESOURCES);
  const pages = await Promise.all(kinds.map((k) => api(`/${RESOURCES[k]}?${query}`)));
  if (ticket !== loads) return; // a newer load (another filter) is on its way
  const all = pages.flatMap((p) => p.items);
  all.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  jobs = new Map(all.slice(0, shown).map((j) => [j.id, j]));
  const total = pages.reduce((sum, p) => sum + p.total, 0);
  render(total);
}

function render(total) {
  const body = document.querySelector("#runs tbody");
  body.replaceChildren(...[...jobs.values()].map(row));
  if (!jobs.size) {
    body.append(el("tr", {}, el("td", { colspan: 10, class: "muted", text: "No runs match. Start one with New backtest." })));
  }
  if (total !== undefined) {
    document.getElementById("runs-count").textContent = `${Math.min(total, jobs.size)} of ${total} shown`;
    document.getElementById("more").hidden = total <= jobs.size || shown >= MOST;
  }
}

function runLink(job) {
  return `/runs/${RESOURCES[job.kind]}/${job.id}`;
}

function row(job) {
  const metrics = job.metrics || (job.best && job.best.metrics) || {};
  const pick =
    job.kind === "backtest" && job.status === "completed"
      ? el("input", {
          type: "checkbox",
          checked: picked.has(job.id),
          "aria-label": `Compare ${job.id}`,
          onchange: (e) => {
            if (e.target.checked) picked.add(job.id);
            else picked.delete(job.id);
            compareButton();
          },
        })
      : null;
  const cells = [
    el("td", {}, pick, " ", el("a", { href: runLink(job), text: job.id }), el("br"), el("small", { class: "muted", text: KIND_LABEL[job.kind] })),
    el(
      "td",
      {},
      badge(job.status),
      ACTIVE.has(job.status)
        ? el("progress", { max: 1, value: job.progress || 0, "aria-label": `${job.id} progress` })
        : null,
      job.error ? el("small", { class: "muted", title: job.error, text: " error" }) : null,
    ),
    el("td", { text: job.strategy }),
    el("td", { class: "hide-narrow", text: job.data }),
    el("td", { class: "num", text: fmt.pct(metrics.total_return) }),
    el("td", { class: "num", text: fmt.num(metrics.sharpe) }),
    el("td", { class: "num hide-narrow", text: fmt.pct(metrics.max_drawdown) }),
    el(
      "td",
      { class: "num hide-narrow" },
      job.kind === "backtest"
        ? fmt.int(metrics.trades)
        : `${job.trials_done}${job.trials_total ? ` / ${job.trials_total}` : ""} trials`,
    ),
    el("td", { class: "hide-narrow", text: fmt.when(job.created_at) }),
    el("td", {}, el("div", { class: "actions" }, actions(job))),
  ];
  return el("tr", { id: `row-${job.id}`, dataset: { status: job.status } }, cells);
}

function actions(job) {
  const out = [];
  const resource = RESOURCES[job.kind];
  if (job.status === "completed") {
    out.push(el("a", { class: "button small", href: runLink(job), text: "Report" }));
  }
  if (ACTIVE.has(job.status)) {
    out.push(
      el("button", {
        type: "button",
        class: "small ghost",
        text: "Cancel",
        "aria-label": `Cancel ${job.id}`,
        onclick: async () => {
          if (!(await confirmAction(`Cancel ${job.id}?`, "Cancel run"))) return;
          await act(() => api(`/${resource}/${job.id}/cancel`, { method: "POST" }), `${job.id} cancelled`);
        },
      }),
    );
  } else {
    out.push(
      el("button", {
        type: "button",
        class: "small danger",
        text: "Delete",
        "aria-label": `Delete ${job.id}`,
        onclick: async () => {
          if (!(await confirmAction(`Delete ${job.id} and its stored results?`))) return;
          const done = await act(() => api(`/${resource}/${job.id}`, { method: "DELETE" }), `${job.id} deleted`);
          if (!done) return; // e.g. 409 while it runs: the row stays
          jobs.delete(job.id);
          picked.delete(job.id);
          compareButton();
          document.getElementById(`row-${job.id}`)?.remove();
        },
      }),
    );
  }
  return out;
}

function compareButton() {
  const button = document.getElementById("compare");
  button.disabled = picked.size < 2;
  button.textContent = `Compare selected (${picked.size})`;
}

async function act(request, done) {
  try {
    await request();
    toast(done);
    return true;
  } catch (error) {
    notice(error.message);
    return false;
  }
}

function update(job) {
  if (!matches(job)) {
    if (jobs.delete(job.id)) document.getElementById(`row-${job.id}`)?.remove();
    return;
  }
  const existing = document.getElementById(`row-${job.id}`);
  jobs.set(job.id, job);
  if (existing) existing.replaceWith(row(job));
  else {
    const body = document.querySelector("#runs tbody");
    if (!body.querySelector("tr[id]")) body.replaceChildren();
    body.prepend(row(job));
  }
}

export async function start() {
  const strategies = await api("/plugins?kind=strategies");
  const select = document.getElementById("filter-strategy");
  for (const s of strategies) select.append(el("option", { value: s.name, text: s.name }));
  const params = new URLSearchParams(location.search);
  for (const name of ["kind", "status", "strategy"]) {
    if (params.get(name)) document.getElementById(`filter-${name}`).value = params.get(name);
  }
  document.getElementById("filters").addEventListener("change", () => {
    const f = filters();
    const query = new URLSearchParams(Object.entries(f).filter(([, v]) => v));
    history.replaceState(null, "", query.size ? `?${query}` : location.pathname);
    load().catch((e) => notice(e.message));
  });
  document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("compare").addEventListener("click", () => {
    location.assign(`/compare?${new URLSearchParams([...picked].map((id) => ["ids", id]))}`);
  });
  document.getElementById("more").addEventListener("click", () => {
    shown = Math.min(shown + PAGE, MOST);
    load().catch((e) => notice(e.message));
  });
  let since = new Date(Date.now() - 30_000); // margin for clock skew; repeats are harmless
  await load();
  const state = document.getElementById("live-state");
  const stop = new AbortController();
  addEventListener("pagehide", () => stop.abort());
  let connects = 0;
  follow(
    () => `/events?since=${encodeURIComponent(since.toISOString())}`,
    {
      status: update,
      deleted: ({ id }) => {
        jobs.delete(id);
        picked.delete(id);
        compareButton();
        document.getElementById(`row-${id}`)?.remove();
      },
    },
    stop.signal,
    (s) => {
      state.textContent = s === "live" ? "● live updates" : `live updates: ${s}`;
      if (s === "live" && connects++ > 0) load().catch((e) => notice(e.message)); // catch up
      if (s === "live") since = new Date(Date.now() - 30_000);
    },
  );
}
