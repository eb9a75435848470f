// Markets: the catalog of imported contract months (GET /api/v1/markets), each root a link
// to a new backtest reading it (source catalog).
import { api } from "./api.js";
import { el, fmt } from "./ui.js";

const day = (text) => (text ? text.slice(0, 10) : "–");

function months(market) {
  const list = market.contracts;
  if (list.length <= 6) return list.join(", ");
  return el("details", {}, el("summary", { text: `${list.length} months: ${list[0]} … ${list.at(-1)}` }), list.join(", "));
}

export async function start() {
  const [markets, contracts] = await Promise.all([api("/markets"), api("/contracts")]);
  const names = Object.fromEntries(contracts.map((c) => [c.root, c]));
  const body = document.querySelector("#markets tbody");
  document.getElementById("markets-empty").hidden = markets.length > 0;
  if (!markets.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 9, class: "muted", text: "The catalog is empty: see above for how to import contracts." })));
    return;
  }
  body.replaceChildren(
    ...markets.map((m) => {
      const href = `/new/backtest?source=catalog&root=${encodeURIComponent(m.root)}`;
      const spec = names[m.root];
      return el(
        "tr",
        { id: `market-${m.root}` },
        el("td", {}, el("a", { href, text: m.root, "aria-label": `Backtest ${m.root}` })),
        el("td", { text: spec ? `${spec.name} (${spec.exchange}, ${spec.currency})` : "–" }),
        el("td", {}, months(m)),
        el("td", { text: day(m.first) }),
        el("td", { text: day(m.last) }),
        el("td", { text: m.bar_sizes.join(", ") }),
        el("td", { class: "num", text: fmt.int(m.bars) }),
        el("td", { class: "hide-narrow", text: m.sources.join(", ") }),
        el(
          "td",
          {},
          el(
            "div",
            { class: "actions" },
            el("a", { class: "button small", href, text: "Backtest" }),
            el("a", { class: "button small ghost", href: `/new/optimization?source=catalog&root=${encodeURIComponent(m.root)}`, text: "Optimise" }),
          ),
        ),
      );
    }),
  );
}
