// Small DOM helpers shared by the pages.

/** el("a", {href: "/", class: "x", onclick: f}, "text", child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const missing = "–";
export const fmt = {
  pct: (v, digits = 2) => (typeof v === "number" ? `${(v * 100).toFixed(digits)}%` : missing),
  num: (v, digits = 2) =>
    typeof v === "number"
      ? v.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 })
      : missing,
  int: (v) => (typeof v === "number" ? Math.round(v).toLocaleString() : missing),
  money: (v) =>
    typeof v === "number" ? v.toLocaleString(undefined, { maximumFractionDigits: 2 }) : missing,
  when: (v) => (v ? new Date(v).toLocaleString() : missing),
  bytes: (v) => (v > 1 << 20 ? `${(v / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(v / 1024)} kB`),
  value: (v) =>
    v === null || v === undefined ? missing : typeof v === "object" ? JSON.stringify(v) : String(v),
};

export function badge(status) {
  return el("span", { class: `badge ${status}`, text: status });
}

/** A modal yes/no question; resolves true when confirmed. */
export function confirmAction(question, label = "Delete") {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-text").textContent = question;
  document.getElementById("confirm-ok").textContent = label;
  dialog.returnValue = ""; // Escape must never repeat the previous "confirm"
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), {
      once: true,
    });
    dialog.showModal();
  });
}

export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.textContent = ""), 5000);
}

export function notice(message) {
  document.getElementById("page-notice").textContent = message || "";
}

/** A table of records: columns [{key, label, num, format}] */
export function recordTable(rows, columns, caption) {
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      {},
      caption ? el("caption", { class: "visually-hidden", text: caption }) : null,
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : null, text: c.label ?? c.key })))),
      el(
        "tbody",
        {},
        rows.map((row) =>
          el(
            "tr",
            {},
            columns.map((c) => {
              const value = c.get ? c.get(row) : row[c.key];
              return el("td", { class: c.num ? "num" : null }, c.format ? c.format(value, row) : fmt.value(value));
            }),
          ),
        ),
      ),
    ),
  );
}
