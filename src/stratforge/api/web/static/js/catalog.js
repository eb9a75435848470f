// Plugins and contracts: what this server has installed.
import { api } from "./api.js";
import { el, fmt } from "./ui.js";
import { shape } from "./fields.js";

function paramsTable(schema) {
  const props = Object.entries(schema?.properties || {});
  if (!props.length) return el("span", { class: "muted", text: "none" });
  const required = new Set(schema.required || []);
  return el(
    "details",
    {},
    el("summary", { text: `${props.length} parameter${props.length > 1 ? "s" : ""}` }),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["Name", "Type", "Default", "Description"].map((h) => el("th", { text: h })))),
      el(
        "tbody",
        {},
        props.map(([name, p]) => {
          const s = shape(p);
          return el(
            "tr",
            {},
            el("td", {}, el("code", { text: name })),
            el("td", { text: s.enum ? s.enum.join(" | ") : (s.type || "any") + (s.nullable ? " or none" : "") }),
            el("td", { text: required.has(name) ? "required" : fmt.value(p.default) }),
            el("td", { text: p.description || "" }),
          );
        }),
      ),
    ),
  );
}

async function plugins() {
  const all = await api("/plugins");
  const kind = document.getElementById("plugin-kind");
  const search = document.getElementById("plugin-search");
  const list = document.getElementById("plugin-list");
  const params = new URLSearchParams(location.search);
  if (params.get("kind")) kind.value = params.get("kind");
  const render = () => {
    const text = search.value.trim().toLowerCase();
    const shown = all.filter(
      (p) => (!kind.value || p.kind === kind.value) && (!text || `${p.name} ${p.aliases.join(" ")} ${p.plugin} ${p.description || ""}`.toLowerCase().includes(text)),
    );
    const kinds = [...new Set(shown.map((p) => p.kind))];
    list.replaceChildren(
      el("p", { class: "muted", text: `${shown.length} of ${all.length} registered items` }),
      ...kinds.map((k) =>
        el(
          "section",
          {},
          el("h2", { text: k.replace("_", " ") }),
          el(
            "div",
            { class: "table-wrap" },
            el(
              "table",
              {},
              el("thead", {}, el("tr", {}, ["Name", "Description", "Plugin", "Parameters"].map((h) => el("th", { text: h })))),
              el(
                "tbody",
                {},
                shown
                  .filter((p) => p.kind === k)
                  .map((p) =>
                    el(
                      "tr",
                      {},
                      el("td", {}, el("strong", { text: p.name }), p.aliases.length ? el("div", { class: "muted", text: p.aliases.join(", ") }) : null),
                      el("td", { text: p.description || "" }),
                      el("td", {}, el("code", { text: p.plugin }), p.version ? el("div", { class: "muted", text: p.version }) : null),
                      el("td", {}, paramsTable(p.params_schema)),
                    ),
                  ),
              ),
            ),
          ),
        ),
      ),
    );
  };
  kind.addEventListener("change", render);
  search.addEventListener("input", render);
  document.getElementById("plugin-filter").addEventListener("submit", (e) => e.preventDefault());
  render();
}

async function contracts() {
  const rows = await api("/contracts");
  document.querySelector("#contracts tbody").replaceChildren(
    ...rows.map((c) =>
      el(
        "tr",
        {},
        el("td", {}, el("strong", { text: c.root })),
        el("td", { text: c.name }),
        el("td", { text: c.exchange }),
        el("td", { text: c.currency }),
        el("td", { class: "num", text: fmt.num(c.multiplier, 4) }),
        el("td", { class: "num", text: String(c.tick_size) }),
        el("td", { class: "num", text: fmt.money(c.tick_value) }),
        el("td", {}, el("code", { text: c.months })),
        el("td", { class: "hide-narrow", text: c.expiry_rule }),
        el("td", { class: "num", text: fmt.money(c.initial_margin) }),
        el("td", { class: "hide-narrow", text: c.margin_as_of || "–" }),
        el("td", { class: "hide-narrow" }, el("code", { text: c.plugin })),
      ),
    ),
  );
}

export function start() {
  return document.body.dataset.page === "plugins" ? plugins() : contracts();
}
