// Form fields generated from the JSON Schemas of GET /api/v1/plugins.
import { el } from "./ui.js";

let counter = 0;
const nextId = (name) => `f${++counter}-${name.replace(/[^a-zA-Z0-9_-]/g, "_")}`;

/** The schema with nullable unions unwrapped: {type, enum, nullable}. */
export function shape(schema = {}) {
  const options = schema.anyOf || [schema];
  const nullable = options.some((o) => o.type === "null");
  const main = options.find((o) => o.type !== "null") || {};
  return { type: main.type, enum: main.enum, nullable };
}

/** A labelled wrapper with hint and error slots; data-loc ties API errors to it. */
export function wrap(id, label, control, { loc, hint, type } = {}) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  control.setAttribute("aria-describedby", `${hintId} ${errorId}`);
  const isCheck = control.type === "checkbox";
  const labelNode = el("label", { for: id, class: isCheck ? "check" : null }, isCheck ? control : null, label, type ? el("small", { text: ` ${type}` }) : null);
  return el(
    "div",
    { class: "field", dataset: loc ? { loc } : {} },
    labelNode,
    isCheck ? null : control,
    el("p", { class: "hint", id: hintId, text: hint || "" }),
    el("p", { class: "error", id: errorId, role: "alert" }),
  );
}

function parseLoose(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** One parameter input. read() → {value} | {omit: true} | {error}. */
export function paramField(name, schema = {}, { loc, required = false, initial } = {}) {
  const { type, enum: options, nullable } = shape(schema);
  const id = nextId(name);
  const start = initial !== undefined ? initial : schema.default;
  let control;
  if (type === "boolean") {
    control = el("input", { id, type: "checkbox", checked: Boolean(start) });
  } else if (options) {
    control = el(
      "select",
      { id },
      (nullable ? [null, ...options] : options).map((o) =>
        el("option", { value: o === null ? "" : JSON.stringify(o), text: o === null ? "none" : String(o), selected: o === start }),
      ),
    );
  } else if (type === "integer" || type === "number") {
    control = el("input", { id, type: "number", step: type === "integer" ? "1" : "any", inputmode: "decimal" });
    if (typeof start === "number") control.value = String(start);
  } else if (type === "array" || type === "object" || type === undefined) {
    control = el("input", { id, type: "text", spellcheck: false });
    if (start !== undefined && start !== null) control.value = JSON.stringify(start);
  } else {
    control = el("input", { id, type: "text" });
    if (start !== undefined && start !== null) control.value = String(start);
  }
  if (required) control.required = true;
  if (nullable && control.tagName === "INPUT" && control.type !== "checkbox") control.placeholder = "none";
  const typeLabel = options ? "choice" : type === undefined ? "JSON" : type + (nullable ? " or none" : "");
  const defaultText = "default" in schema ? ` (default ${JSON.stringify(schema.default)})` : required ? " (required)" : "";
  const node = wrap(id, name, control, { loc, hint: `${schema.description || ""}${defaultText}`, type: typeLabel });

  function read() {
    let value;
    if (type === "boolean") value = control.checked;
    else if (options) value = control.value === "" ? null : JSON.parse(control.value);
    else {
      if (control.validity?.badInput) return { error: "enter a number" };
      const text = control.value.trim();
      if (text === "") return required ? { error: "required: enter a value" } : nullable ? { value: null } : { omit: true };
      if (type === "integer" || type === "number") {
        value = Number(text);
        if (!Number.isFinite(value)) return { error: `enter a number, not ${JSON.stringify(text)}` };
        if (type === "integer" && !Number.isInteger(value)) return { error: "enter a whole number" };
      } else if (type === "array") {
        value = text.startsWith("[") ? parseLoose(text) : text.split(",").map((t) => parseLoose(t.trim()));
        if (!Array.isArray(value)) return { error: "enter a JSON list or comma-separated values" };
      } else if (type === "object") {
        value = parseLoose(text);
        if (typeof value !== "object" || Array.isArray(value)) return { error: 'enter a JSON object, e.g. {"ES": 2}' };
      } else if (type === undefined) value = parseLoose(text);
      else value = text;
    }
    if (!required && JSON.stringify(value) === JSON.stringify(schema.default)) return { omit: true };
    return { value };
  }
  return { node, read, control, name, schema };
}

/** All parameters of a plugin; read() → {params, errors: [[field, message]]}. */
export function paramGroup(plugin, loc, initial = {}) {
  const properties = plugin?.params_schema?.properties || {};
  const required = new Set(plugin?.params_schema?.required || []);
  const fields = Object.entries(properties).map(([name, schema]) =>
    paramField(name, schema, { loc: `${loc}.${name}`, required: required.has(name), initial: initial[name] }),
  );
  const node = fields.length
    ? el("div", { class: "grid" }, fields.map((f) => f.node))
    : el("p", { class: "muted", text: "No parameters." });
  function read() {
    const params = {};
    const errors = [];
    for (const f of fields) {
      const out = f.read();
      if (out.error) errors.push([f.node, out.error]);
      else if (!out.omit) params[f.name] = out.value;
    }
    return { params, errors };
  }
  function setLoc(prefix) {
    for (const f of fields) f.node.dataset.loc = `${prefix}.${f.name}`;
  }
  return { node, read, setLoc, fields };
}

export function describe(plugin) {
  if (!plugin) return "";
  const aliases = plugin.aliases?.length ? ` Also: ${plugin.aliases.join(", ")}.` : "";
  return `${plugin.description || ""}${aliases} (${plugin.plugin})`;
}

/** A select of plugins with the chosen one's parameter fields underneath. */
export function picker({ label, plugins, loc, optional = false, initial, build = paramGroup }) {
  const id = nextId(label);
  const select = el(
    "select",
    { id },
    optional ? el("option", { value: "", text: "none" }) : null,
    plugins.map((p) => el("option", { value: p.name, text: p.name, selected: p.name === initial })),
  );
  const about = el("p", { class: "hint" });
  const holder = el("div");
  const node = el(
    "div",
    { dataset: { loc } },
    wrap(id, label, select, { loc: `${loc}.name` }),
    about,
    holder,
    el("p", { class: "error", role: "alert" }),
  );
  let group = null;
  function rebuild() {
    const plugin = plugins.find((p) => p.name === select.value);
    about.textContent = describe(plugin);
    group = plugin ? build(plugin, `${loc}.params`) : null;
    holder.replaceChildren(group ? group.node : "");
    node.dispatchEvent(new Event("input", { bubbles: true }));
  }
  select.addEventListener("change", rebuild);
  rebuild();
  return {
    node,
    select,
    get group() {
      return group;
    },
    read() {
      if (!select.value) return { value: null, errors: [] };
      const out = group.read();
      return { value: { name: select.value, params: out.params }, errors: out.errors, extra: out };
    },
  };
}

/** Check boxes for a list of components (analyzers, risk rules, indicators). */
export function checklist({ plugins, loc, checked = [] }) {
  const items = plugins.map((plugin) => {
    const id = nextId(plugin.name);
    const box = el("input", { id, type: "checkbox", checked: checked.includes(plugin.name) });
    const group = paramGroup(plugin, `${loc}.x.params`);
    const body = el("div", { hidden: !box.checked }, group.node);
    box.addEventListener("change", () => (body.hidden = !box.checked));
    const node = el(
      "div",
      { class: "component", dataset: { name: plugin.name } },
      el("label", { for: id, class: "check" }, box, plugin.name, el("small", { text: ` ${plugin.description || ""}` })),
      body,
      el("p", { class: "error", role: "alert" }),
    );
    return { plugin, box, group, node };
  });
  return {
    node: el("div", {}, items.map((i) => i.node)),
    items,
    read() {
      const value = [];
      const errors = [];
      for (const item of items.filter((i) => !i.box.checked)) {
        delete item.node.dataset.loc; // an error about "analyzers.0" is never an unticked one
        item.group.setLoc(`${loc}.x.params`);
      }
      for (const item of items.filter((i) => i.box.checked)) {
        item.group.setLoc(`${loc}.${value.length}.params`);
        item.node.dataset.loc = `${loc}.${value.length}`;
        const out = item.group.read();
        errors.push(...out.errors);
        value.push(Object.keys(out.params).length ? { name: item.plugin.name, params: out.params } : { name: item.plugin.name });
      }
      return { value, errors };
    },
  };
}

/** Put the API's 422 details next to their fields; returns the ones that found no field. */
const UNION_TAG = /\[|^function-|^[A-Z]\w*Spec$/; // pydantic's names for union members

export function placeErrors(detail, resolve) {
  const unplaced = [];
  let items = Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }];
  // `data` is one feed or a list of them: pydantic reports both union members, and the one
  // the request did not send fails as a whole ("not a valid list" for one feed, "not a valid
  // dictionary" for a list). Drop that one; keep the errors inside the member that was sent.
  const wrongShape = (item) => {
    const loc = (item.loc || []).map(String);
    return loc.length > 0 && UNION_TAG.test(loc.at(-1)) && /_type$/.test(item.type || "");
  };
  if (items.some((i) => !wrongShape(i))) items = items.filter((i) => !wrongShape(i));
  for (const item of items) {
    const parts = (item.loc || []).map(String).filter((p) => p !== "body" && !UNION_TAG.test(p));
    const field = resolve(parts);
    const message = item.problems ? `${item.msg}` : item.msg;
    if (field) showError(field, message);
    else unplaced.push(`${parts.join(".") || "request"}: ${message}`);
  }
  return unplaced;
}

export function showError(field, message) {
  const slot = field.querySelector(":scope > .error") || field.querySelector(".error");
  slot.textContent = slot.textContent ? `${slot.textContent}; ${message}` : message;
  field.classList.add("invalid");
  field.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
}

export function clearErrors(root) {
  for (const field of root.querySelectorAll(".invalid")) {
    field.classList.remove("invalid");
    (field.querySelector(":scope > .error") || field.querySelector(".error")).textContent = "";
    field.querySelector("[aria-invalid]")?.removeAttribute("aria-invalid");
  }
}

/** The field under *root* whose data-loc is the longest prefix of *parts*. */
export function findField(root, parts) {
  for (let n = parts.length; n > 0; n--) {
    const loc = parts.slice(0, n).join(".");
    const field = root.querySelector(`[data-loc="${CSS.escape(loc)}"]`);
    if (field) return field;
  }
  return null;
}
