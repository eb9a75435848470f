// New backtest / optimisation / walk-forward: a form generated from the installed plugins.
import { RESOURCES, api, watchJob } from "./api.js";
import {
  checklist,
  clearErrors,
  findField,
  paramField,
  paramGroup,
  picker,
  placeErrors,
  shape,
  showError,
  wrap,
} from "./fields.js";
import { badge, el, toast } from "./ui.js";

const ADJUSTMENTS = ["difference", "ratio", "forward_difference", "none"];
let catalog = {};
let parts = {};

function fieldset(legend, ...children) {
  return el("fieldset", {}, el("legend", { text: legend }), ...children);
}

function input(id, label, attrs, { loc, hint } = {}) {
  const control = el("input", { id, ...attrs });
  return { node: wrap(id, label, control, { loc, hint }), control };
}

function select(id, label, options, { loc, hint, value } = {}) {
  const control = el(
    "select",
    { id },
    options.map(([v, text]) => el("option", { value: v, text, selected: v === value })),
  );
  return { node: wrap(id, label, control, { loc, hint }), control };
}

// -- data -------------------------------------------------------------------------------

// A RunSpec's `data` is one feed or a list (a portfolio of markets): one editor per feed,
// each labelled with its place in the list ("data" alone, or "data.1") when read.
const FX_GUESS = { EUR: 1.1, GBP: 1.27, CHF: 1.12, AUD: 0.66, CAD: 0.73, JPY: 0.0068, HKD: 0.128, KRW: 0.00073 };

function relabel(node, prefix) {
  for (const item of [node, ...node.querySelectorAll("[data-loc]")]) {
    if (item.dataset.loc) item.dataset.loc = item.dataset.loc.replace(/^data(\.\d+)?(?=\.|$)/, prefix);
  }
}

function marketHint(market) {
  if (!market) return "";
  const months = market.contracts.length;
  return `catalog: ${months} contract${months === 1 ? "" : "s"} (${market.contracts[0]}…${market.contracts[months - 1]}), ${market.first.slice(0, 10)} to ${market.last.slice(0, 10)}, ${market.bar_sizes.join(", ")} bars`;
}

function feedEditor(n, { datasets, contracts, markets, initial = {}, onRemove }) {
  const tag = n === 0 ? "data" : `data${n}`; // element ids: the first feed keeps the old ones
  const sources = catalog.data_sources;
  const known = (name) => sources.some((s) => s.name === name);
  const startSource = known(initial.source) ? initial.source : initial.dataset ? "dataset" : markets.length && initial.root && markets.some((m) => m.root === initial.root) ? "catalog" : "synthetic";
  const source = select(
    `${tag}-source`,
    "Source",
    sources.map((s) => [s.name, s.name === "dataset" ? "dataset (uploaded)" : s.name === "catalog" ? "catalog (imported contracts)" : s.name]),
    { loc: "data.source", value: startSource },
  );
  const argsHolder = el("div");
  let args = null;
  const datasetSelect = () => {
    const control = el(
      "select",
      { id: `${tag}-dataset`, required: true },
      datasets.length ? null : el("option", { value: "", text: "no datasets: upload one first" }),
      datasets.map((d) =>
        el("option", { value: d.id, text: `${d.name} (${d.rows} rows, ${d.id})`, selected: d.id === initial.dataset }),
      ),
    );
    const node = wrap(`${tag}-dataset`, "Dataset", control, { loc: "data.args.id", hint: "" });
    node.querySelector(".hint").append(el("a", { href: "/datasets", text: "Upload or manage datasets" }));
    return { node, read: () => ({ params: control.value ? { id: control.value } : {}, errors: control.value ? [] : [[node, "choose a dataset, or upload one on the Datasets page"]] }) };
  };

  const symbol = input(`${tag}-symbol`, "Feed name", { type: "text", placeholder: "defaults to the root or source" }, { loc: "data.symbol" });
  const startDate = input(`${tag}-start`, "From", { type: "date" }, { loc: "data.start", hint: "optional first bar" });
  const endDate = input(`${tag}-end`, "To", { type: "date" }, { loc: "data.end", hint: "optional last bar" });

  const futuresBox = el("input", { id: `${tag}-futures`, type: "checkbox" });
  const byRoot = Object.fromEntries(contracts.map((c) => [c.root, c]));
  const rootLabel = (c) => `${c.root}: ${c.name} (${c.exchange}, ×${c.multiplier}${c.currency && c.currency !== "USD" ? `, ${c.currency}` : ""})`;
  const root = select(`${tag}-root`, "Contract root", [], { loc: "data.root" });
  const fillRoots = (catalogOnly) => {
    const wanted = root.control.value || initial.root || "ES";
    const options = catalogOnly
      ? markets.map((m) => [m.root, byRoot[m.root] ? rootLabel(byRoot[m.root]) : m.root])
      : contracts.map((c) => [c.root, rootLabel(c)]);
    if (catalogOnly && !options.length) options.push(["", "the catalog is empty: import contracts first"]);
    root.control.replaceChildren(...options.map(([v, text]) => el("option", { value: v, text, selected: v === wanted })));
  };
  const rootHint = root.node.querySelector(".hint");
  const showRootHint = () => {
    const market = markets.find((m) => m.root === root.control.value);
    rootHint.replaceChildren(market ? marketHint(market) : source.control.value === "catalog" ? el("a", { href: "/markets", text: "How to import contracts" }) : "");
  };
  root.control.addEventListener("change", showRootHint);
  const roll = picker({ label: "Roll rule", plugins: catalog.roll_rules, loc: "data.roll", initial: "volume" });
  const adjust = select(`${tag}-adjust`, "Adjustment", ADJUSTMENTS.map((a) => [a, a]), {
    loc: "data.adjust",
    hint: "How contract months are joined into one continuous series.",
  });
  const futures = el("div", { hidden: true }, el("div", { class: "grid" }, root.node, adjust.node), roll.node);
  const showFutures = () => (futures.hidden = !futuresBox.checked);
  futuresBox.addEventListener("change", showFutures);

  const rebuild = () => {
    const plugin = sources.find((s) => s.name === source.control.value);
    args = plugin.name === "dataset" ? datasetSelect() : paramGroup(plugin, "data.args");
    const fromCatalog = plugin.name === "catalog";
    if (fromCatalog) args.node.replaceChildren("Reads the stored contract months of the root below (no arguments). ", el("a", { href: "/markets", text: "See the Markets page" }));
    argsHolder.replaceChildren(args.node);
    if (fromCatalog) futuresBox.checked = true; // the catalog holds contract months of a root
    futuresBox.disabled = fromCatalog;
    fillRoots(fromCatalog);
    showRootHint();
    showFutures();
  };
  source.control.addEventListener("change", rebuild);
  if (initial.root) futuresBox.checked = true;
  rebuild();

  const remove = el("button", { type: "button", class: "small ghost", text: "Remove", onclick: onRemove });
  const legend = el("legend", { text: "Data" });
  const node = el(
    "fieldset",
    { class: "feed" },
    legend,
    el("div", { class: "grid" }, source.node, symbol.node, startDate.node, endDate.node),
    argsHolder,
    el("div", { class: "component" }, el("label", { for: `${tag}-futures`, class: "check" }, futuresBox, "Futures chain", el("small", { text: " build a rolled, adjusted continuous contract from contract months (synthetic, catalog or contracts_dir)" }))),
    futures,
    el("p", { class: "actions" }, remove),
  );
  function read(prefix, count) {
    relabel(node, prefix);
    legend.textContent = count > 1 ? `Market ${Number(prefix.split(".")[1]) + 1} of ${count}` : "Data";
    remove.hidden = count < 2;
    remove.setAttribute("aria-label", `Remove ${legend.textContent}`);
    const out = args.read();
    const errors = [...out.errors];
    const data = { source: source.control.value };
    if (Object.keys(out.params).length) data.args = out.params;
    if (symbol.control.value.trim()) data.symbol = symbol.control.value.trim();
    if (startDate.control.value) data.start = startDate.control.value;
    if (endDate.control.value) data.end = endDate.control.value;
    if (futuresBox.checked) {
      if (!root.control.value) errors.push([root.node, "import contracts of a root first (see the Markets page)"]);
      else data.root = root.control.value;
      data.adjust = adjust.control.value;
      const rolled = roll.read();
      errors.push(...rolled.errors);
      if (rolled.value) data.roll = rolled.value;
    }
    return { value: data, errors };
  }
  return {
    node,
    read,
    get source() {
      return source.control.value;
    },
    get root() {
      return futuresBox.checked ? root.control.value : undefined;
    },
    get currency() {
      return futuresBox.checked ? byRoot[root.control.value]?.currency : undefined;
    },
  };
}

/** Per foreign currency of the chosen contracts, the data source of its FX rate. */
function fxSection(accountCurrency) {
  const sources = catalog.data_sources.filter((s) => !["catalog", "dataset"].includes(s.name));
  const editors = new Map();
  const list = el("div");
  const node = el(
    "div",
    { hidden: true },
    el("h3", { text: "FX rates" }),
    el("p", { class: "hint", text: "A contract quoted in another currency than the account's needs a series whose close is the account-currency price of one unit of it (e.g. EURUSD ~1.1). Synthetic rates let a first run work; for a real backtest read a series (csv, parquet) covering the markets' dates." }),
    list,
  );
  const editor = (ccy) => {
    const id = `fx-${ccy}-source`;
    const control = el("select", { id }, sources.map((s) => el("option", { value: s.name, text: s.name, selected: s.name === "synthetic" })));
    const field = wrap(id, `${ccy} rate source`, control, { loc: `fx_rates.${ccy}.source` });
    const holder = el("div");
    let group = null;
    const rebuild = () => {
      const plugin = sources.find((s) => s.name === control.value);
      const initial = plugin.name === "synthetic" && FX_GUESS[ccy] ? { price: FX_GUESS[ccy], volatility: 0.005, drift: 0 } : {};
      group = paramGroup(plugin, `fx_rates.${ccy}.args`, initial);
      holder.replaceChildren(group.node);
    };
    control.addEventListener("change", rebuild);
    rebuild();
    return {
      node: el("div", { class: "component", dataset: { loc: `fx_rates.${ccy}` } }, field, holder),
      read() {
        const out = group.read(); // the FX guess differs from synthetic's defaults: it is sent
        const spec = { source: control.value };
        if (Object.keys(out.params).length) spec.args = out.params;
        return { value: spec, errors: out.errors };
      },
    };
  };
  return {
    node,
    read(currencies) {
      const account = accountCurrency() || "USD";
      const wanted = [...new Set(currencies.filter((c) => c && c !== account))].sort();
      for (const ccy of wanted) if (!editors.has(ccy)) editors.set(ccy, editor(ccy));
      list.replaceChildren(...wanted.map((ccy) => editors.get(ccy).node));
      node.hidden = !wanted.length;
      const value = {};
      const errors = [];
      for (const ccy of wanted) {
        const out = editors.get(ccy).read();
        value[ccy] = out.value;
        errors.push(...out.errors);
      }
      return { value, errors };
    },
  };
}

function dataSection(datasets, contracts, markets, accountCurrency) {
  const params = new URLSearchParams(location.search);
  const feeds = [];
  const holder = el("div");
  const fx = fxSection(accountCurrency);
  let made = 0;
  const changed = () => holder.dispatchEvent(new Event("change", { bubbles: true }));
  const add = (initial = {}) => {
    const feed = feedEditor(made++, {
      datasets,
      contracts,
      markets,
      initial,
      onRemove: () => {
        feeds.splice(feeds.indexOf(feed), 1);
        feed.node.remove();
        changed();
        (holder.querySelector(".feed:last-child select") || addButton).focus();
      },
    });
    feeds.push(feed);
    holder.append(feed.node);
    return feed;
  };
  add({ source: params.get("source"), root: params.get("root"), dataset: params.get("dataset") });
  const addButton = el("button", {
    type: "button",
    class: "ghost",
    id: "add-market",
    text: "Add market",
    onclick: () => {
      // after a catalog market, the next one is the catalog's next root not chosen yet
      const fromCatalog = feeds.at(-1)?.source === "catalog";
      const unused = markets.find((m) => !feeds.some((f) => f.root === m.root));
      const feed = add(fromCatalog && unused ? { source: "catalog", root: unused.root } : {});
      changed();
      feed.node.querySelector("select").focus();
    },
  });
  const node = el(
    "div",
    { id: "data-feeds" },
    holder,
    el("p", { class: "row" }, addButton, el("small", { class: "muted", text: " a portfolio: several markets (e.g. ES and NQ), each on its own exchange calendar" })),
    fx.node,
  );
  function read() {
    const errors = [];
    const values = feeds.map((feed, i) => {
      const out = feed.read(feeds.length > 1 ? `data.${i}` : "data", feeds.length);
      errors.push(...out.errors);
      return out.value;
    });
    const rates = fx.read(feeds.map((f) => f.currency));
    errors.push(...rates.errors);
    return { value: feeds.length > 1 ? values : values[0], fx: rates.value, errors };
  }
  return { node, read };
}

// -- strategy parameters as search dimensions ------------------------------------------

function dimensionEditor(plugin, loc) {
  const props = plugin.params_schema?.properties || {};
  const rows = Object.entries(props).map(([name, schema]) => dimensionRow(name, schema, loc));
  const node = rows.length
    ? el("div", {}, el("p", { class: "hint", text: "Fix a parameter, or search it: a range (start, stop inclusive, step), a log range, or a list of choices." }), rows.map((r) => r.node))
    : el("p", { class: "muted", text: "No parameters to search." });
  return {
    node,
    read() {
      const params = {};
      const space = {};
      const errors = [];
      for (const row of rows) {
        const out = row.read();
        errors.push(...out.errors);
        if (out.space) space[row.name] = out.space;
        else if (out.fixed !== undefined) params[row.name] = out.fixed;
      }
      return { params, space, errors };
    },
  };
}

function dimensionRow(name, schema, loc) {
  const { type } = shape(schema);
  const numeric = type === "integer" || type === "number";
  const modes = [["fixed", "fixed"], ["choice", "choices"]];
  if (numeric) modes.splice(1, 0, ["range", "range"], ["log", "log range"]);
  const id = `dim-${name}`;
  const mode = el("select", { id, "aria-label": `${name}: how to search it` }, modes.map(([v, t]) => el("option", { value: v, text: t })));
  const fixed = paramField(name, schema, { loc: `${loc}.${name}` });
  const num = (label, value, extra = {}) => {
    const control = el("input", { type: "number", step: type === "integer" ? "1" : "any", "aria-label": `${name} ${label}`, placeholder: label, ...extra });
    if (value !== undefined && value !== null) control.value = String(value);
    return el("label", { class: "type" }, label, control);
  };
  const d = typeof schema.default === "number" ? schema.default : 1;
  const rangeInputs = el("div", { class: "inputs" }, num("start", Math.max(type === "integer" ? 1 : 0, Math.round(d / 2))), num("stop", d * 2 || 10), num("step", type === "integer" ? Math.max(1, Math.round(d / 4)) : Math.abs(d) / 4 || 0.1));
  const logInputs = el("div", { class: "inputs" }, num("low", d > 0 ? d / 4 : 0.01), num("high", d > 0 ? d * 4 : 1), num("count", 5, { step: "1" }));
  const choices = el("input", { type: "text", "aria-label": `${name} choices`, placeholder: "comma-separated, e.g. 5, 10, 20", value: type === "boolean" ? "true, false" : "" });
  const holder = el("div");
  const errorSlot = el("p", { class: "error", role: "alert" });
  const node = el(
    "div",
    { class: "dimension", dataset: { loc: `space.${name}`, scope: "search" } },
    el("label", { for: id }, name, el("small", { text: ` ${schema.description || ""}` })),
    mode,
    holder,
    errorSlot,
  );
  const show = () => {
    holder.replaceChildren({ fixed: fixed.node, range: rangeInputs, log: logInputs, choice: choices }[mode.value]);
  };
  mode.addEventListener("change", show);
  show();
  const values = (box) => [...box.querySelectorAll("input")].map((i) => (i.value.trim() === "" ? null : Number(i.value)));
  return {
    name,
    node,
    read() {
      if (mode.value === "fixed") {
        const out = fixed.read();
        if (out.error) return { errors: [[fixed.node, out.error]] };
        return { fixed: out.omit ? undefined : out.value, errors: [] };
      }
      if (mode.value === "choice") {
        const options = choices.value.split(",").map((t) => t.trim()).filter(Boolean).map((t) => {
          try {
            return JSON.parse(t);
          } catch {
            return t;
          }
        });
        if (!options.length) return { errors: [[node, "enter at least one choice"]] };
        return { space: { kind: "choice", options }, errors: [] };
      }
      if (mode.value === "range") {
        const [start, stop, step] = values(rangeInputs);
        if (start === null || stop === null) return { errors: [[node, "enter start and stop"]] };
        const space = { kind: type === "integer" ? "int" : "float", start, stop };
        if (step !== null) space.step = step;
        return { space, errors: [] };
      }
      const [low, high, count] = values(logInputs);
      if (low === null || high === null) return { errors: [[node, "enter low and high"]] };
      const space = { kind: "log", low, high, integer: type === "integer" };
      if (count !== null) space.num = count;
      return { space, errors: [] };
    },
  };
}

// -- the whole form --------------------------------------------------------------------

function baseSection(mode, datasets, contracts, markets) {
  const strategy = picker({
    label: "Strategy",
    plugins: catalog.strategies,
    loc: "strategy",
    initial: "sma_cross",
    build: mode === "optimization" ? (plugin, loc) => dimensionEditor(plugin, loc) : paramGroup,
  });
  const currency = input("currency", "Account currency", { type: "text", value: "USD", maxlength: "8", autocapitalize: "characters" }, { loc: "currency", hint: "contracts quoted in another currency need an FX rate (shown under Data)" });
  const data = dataSection(datasets, contracts, markets, () => currency.control.value.trim().toUpperCase());
  const sizer = picker({ label: "Sizer", plugins: catalog.sizers, loc: "sizer", optional: true });
  const analyzers = checklist({ plugins: catalog.analyzers, loc: "analyzers" });
  const risk = checklist({ plugins: catalog.risk_rules, loc: "risk" });
  const indicators = checklist({ plugins: catalog.indicators, loc: "indicators" });
  const cash = input("cash", "Starting cash", { type: "number", step: "any", value: "100000" }, { loc: "cash" });
  const commission = input("commission", "Commission", { type: "number", step: "any", value: "0" }, { loc: "commission.value", hint: "percent: a fraction of traded value (0.001 = 0.1%); per unit: cash per unit" });
  const commissionKind = select("commission-kind", "Commission kind", [["percent", "percent"], ["per_unit", "per unit"]], { loc: "commission.kind" });
  const slippage = input("slippage", "Slippage, fraction of price", { type: "number", step: "any", value: "0" }, { loc: "slippage.percent" });
  const seed = input("seed", "Seed", { type: "number", step: "1", value: "0" }, { loc: "seed", hint: "for synthetic data and random choices" });
  const node = el(
    "div",
    {},
    fieldset("Strategy", strategy.node),
    data.node,
    fieldset("Sizer", sizer.node),
    fieldset("Analyzers", analyzers.node),
    fieldset("Risk rules", el("p", { class: "hint", text: "Every strategy order is reviewed by these rules before it reaches the broker." }), risk.node),
    el("details", {}, el("summary", { text: "Extra indicators to chart" }), fieldset("Indicators", indicators.node)),
    fieldset("Account", el("div", { class: "grid" }, cash.node, currency.node, commission.node, commissionKind.node, slippage.node, seed.node)),
  );
  function read() {
    const errors = [];
    const chosen = strategy.read();
    errors.push(...chosen.errors);
    const spec = { strategy: chosen.value, data: null };
    const dataOut = data.read();
    errors.push(...dataOut.errors);
    spec.data = dataOut.value;
    if (Object.keys(dataOut.fx).length) spec.fx_rates = dataOut.fx;
    const account = currency.control.value.trim().toUpperCase();
    if (account && account !== "USD") spec.currency = account;
    const sized = sizer.read();
    errors.push(...sized.errors);
    if (sized.value) spec.sizer = sized.value;
    for (const [key, list] of [["analyzers", analyzers], ["risk", risk], ["indicators", indicators]]) {
      const out = list.read();
      errors.push(...out.errors);
      if (out.value.length) spec[key] = out.value;
    }
    const number = (box, key, set) => {
      const text = box.control.value.trim();
      if (text === "") return;
      const value = Number(text);
      if (!Number.isFinite(value)) errors.push([box.node, "enter a number"]);
      else set(value, key);
    };
    number(cash, "cash", (v) => (spec.cash = v));
    number(commission, "commission", (v) => v && (spec.commission = { value: v, kind: commissionKind.control.value }));
    number(slippage, "slippage", (v) => v && (spec.slippage = { percent: v }));
    number(seed, "seed", (v) => v && (spec.seed = v));
    return { spec, space: chosen.extra?.space, errors };
  }
  return { node, read };
}

function searchSection() {
  const metrics = JSON.parse(document.getElementById("metric-names").textContent);
  const method = picker({ label: "Method", plugins: catalog.optimizers, loc: "method", initial: "grid" });
  const metric = select("metric", "Metric", metrics.map((m) => [m.name, m.name]), { loc: "metric", value: "sharpe" });
  const describeMetric = () => {
    metric.node.querySelector(".hint").textContent = metrics.find((m) => m.name === metric.control.value)?.description || "";
  };
  metric.control.addEventListener("change", describeMetric);
  describeMetric();
  const maximize = input("maximize", "Maximise the metric", { type: "checkbox", checked: true }, { loc: "maximize" });
  const trials = input("trials", "Trial budget", { type: "number", step: "1", min: "1" }, { loc: "trials", hint: "optional for grid; needed for random and Bayesian searches" });
  const seed = input("search-seed", "Search seed", { type: "number", step: "1", value: "0" }, { loc: "seed" });
  const executor = select("executor", "Executor", [["serial", "serial (one process)"], ["ray", "ray (parallel workers)"]], { loc: "executor" });
  const constraintsId = "constraints";
  const constraints = el("textarea", { id: constraintsId, placeholder: "fast < slow", spellcheck: false });
  const constraintsField = wrap(constraintsId, "Constraints", constraints, { loc: "constraints", hint: "One per line, over parameter names; trials that break one are skipped before they run." });
  const wf = input("walkforward", "Walk-forward: re-optimise on rolling train windows, score on the test windows after them", { type: "checkbox" }, { loc: "walkforward" });
  const train = input("wf-train", "Train length", { type: "text", value: "500" }, { loc: "train", hint: "bars, or a period: 2Y, 6M, 4W, 30D" });
  const test = input("wf-test", "Test length", { type: "text", value: "250" }, { loc: "test", hint: "bars or a period" });
  const step = input("wf-step", "Step", { type: "text" }, { loc: "step", hint: "default: the test length" });
  const anchored = input("wf-anchored", "Anchored (every train window starts at the first bar)", { type: "checkbox" }, { loc: "anchored" });
  const wfBox = el("div", { hidden: true, class: "grid" }, train.node, test.node, step.node, anchored.node);
  wf.control.addEventListener("change", () => (wfBox.hidden = !wf.control.checked));
  const node = el(
    "div",
    {},
    fieldset("Search", method.node, el("div", { class: "grid" }, metric.node, maximize.node, trials.node, seed.node, executor.node), constraintsField),
    fieldset("Walk-forward", wf.node, wfBox),
  );
  const length = (text) => (/^\d+$/.test(text) ? Number(text) : text);
  function read(base) {
    const errors = [];
    const m = method.read();
    errors.push(...m.errors);
    const search = { base: base.spec, space: base.space || {}, method: m.value, metric: metric.control.value, maximize: maximize.control.checked };
    const lines = constraints.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (lines.length) search.constraints = lines;
    if (trials.control.value.trim()) search.trials = Number(trials.control.value);
    if (Number(seed.control.value)) search.seed = Number(seed.control.value);
    search.executor = executor.control.value;
    if (!wf.control.checked) return { path: "/optimizations", body: search, errors };
    const body = { search, train: length(train.control.value.trim()), test: length(test.control.value.trim()), anchored: anchored.control.checked };
    if (step.control.value.trim()) body.step = length(step.control.value.trim());
    return { path: "/walkforwards", body, errors };
  }
  return { node, read };
}

// -- submit and follow -----------------------------------------------------------------

function errorResolver(mode) {
  const baseRoot = document.getElementById("base-fields");
  const searchRoot = document.getElementById("search-fields");
  return (locParts) => {
    const path = [...locParts];
    if (mode !== "optimization") return findField(baseRoot, path);
    if (path[0] === "search") path.shift();
    if (path[0] === "base") return findField(baseRoot, path.slice(1));
    return findField(searchRoot, path) || findField(baseRoot.parentElement, path);
  };
}

let watching = null; // the job the progress panel follows; a new submission replaces it

function follow(job) {
  watching?.abort();
  watching = new AbortController();
  const signal = watching.signal;
  const resource = RESOURCES[job.kind];
  const panel = document.getElementById("job-panel");
  const message = document.getElementById("job-message");
  const progress = document.getElementById("job-progress");
  const link = document.getElementById("job-link");
  panel.hidden = false;
  link.href = `/runs/${resource}/${job.id}`;
  link.textContent = `Open ${job.id}`;
  const show = (snapshot) => {
    document.getElementById("job-status").replaceWith(Object.assign(badge(snapshot.status), { id: "job-status" }));
    progress.value = snapshot.progress || 0;
    progress.textContent = `${Math.round((snapshot.progress || 0) * 100)}%`;
    const trials = snapshot.trials_done !== undefined ? ` · ${snapshot.trials_done} trials` : "";
    message.textContent = (snapshot.error || snapshot.message || "") + trials;
  };
  show(job);
  panel.scrollIntoView({ behavior: "smooth", block: "nearest" });
  watchJob(resource, job.id, show, signal)
    .then((snapshot) => {
      if (snapshot.status === "completed") {
        link.textContent = `Open the report of ${job.id}`;
        toast(`${job.id} completed`);
      }
    })
    .catch((error) => {
      if (!signal.aborted) message.textContent = `progress unavailable: ${error.message}`;
    });
}

function focusFirstProblem(form, summary) {
  const controls = form.querySelectorAll(".invalid input, .invalid select, .invalid textarea");
  const visible = [...controls].find((c) => c.offsetParent !== null);
  (visible || summary).focus();
}

export async function start({ mode }) {
  const [plugins, datasets, contracts, markets] = await Promise.all([api("/plugins"), api("/datasets"), api("/contracts"), api("/markets")]);
  catalog = {};
  for (const p of plugins) (catalog[p.kind] ||= []).push(p);
  const base = baseSection(mode, datasets, contracts, markets);
  document.getElementById("base-fields").replaceChildren(base.node);
  const search = mode === "optimization" ? searchSection() : null;
  if (search) document.getElementById("search-fields").replaceChildren(search.node);
  parts = { base, search };

  const form = document.getElementById("run-form");
  const summary = document.getElementById("form-errors");
  const preview = document.getElementById("spec-preview");
  const build = () => {
    const baseOut = base.read();
    if (!search) return { path: "/backtests", body: baseOut.spec, errors: baseOut.errors };
    const out = search.read(baseOut);
    return { ...out, errors: [...baseOut.errors, ...out.errors] };
  };
  const refresh = () => {
    try {
      preview.textContent = JSON.stringify(build().body, null, 2);
    } catch {
      /* half-typed input: keep the last preview */
    }
  };
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  refresh();

  document.getElementById("submit").disabled = false; // enabled once the form is wired
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    summary.textContent = "";
    const { path, body, errors } = build();
    if (errors.length) {
      for (const [field, message] of errors) showError(field, message);
      summary.textContent = `${errors.length} field(s) need a fix: see the messages next to them.`;
      focusFirstProblem(form, summary);
      return;
    }
    const button = document.getElementById("submit");
    button.disabled = true;
    try {
      follow(await api(path, { method: "POST", body }));
    } catch (error) {
      if (error.status === 422) {
        const unplaced = placeErrors(error.detail, errorResolver(mode));
        const count = Array.isArray(error.detail) ? error.detail.length : 1;
        summary.replaceChildren(
          el("p", { text: `The server rejected the request (${count} problem${count > 1 ? "s" : ""}); the fields are marked below.` }),
          unplaced.length ? el("ul", {}, unplaced.map((u) => el("li", { text: u }))) : null,
        );
        focusFirstProblem(form, summary);
      } else {
        summary.textContent = error.message;
        summary.focus();
      }
    } finally {
      button.disabled = false;
    }
  });
}
