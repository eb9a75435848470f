// Datasets: drag-and-drop upload with row-level validation errors, listing, delete.
import { api } from "./api.js";
import { confirmAction, el, fmt, notice, recordTable, toast } from "./ui.js";

let chosen = null;

async function load() {
  const datasets = await api("/datasets");
  const body = document.querySelector("#datasets tbody");
  body.replaceChildren(
    ...datasets.map((d) =>
      el(
        "tr",
        { id: `ds-${d.id}` },
        el("td", { text: d.name }),
        el("td", {}, el("code", { text: d.id })),
        el("td", { class: "num", text: fmt.int(d.rows) }),
        el("td", { class: "hide-narrow", text: d.first || "–" }),
        el("td", { class: "hide-narrow", text: d.last || "–" }),
        el("td", { class: "num hide-narrow", text: fmt.bytes(d.size_bytes) }),
        el("td", { class: "hide-narrow", text: fmt.when(d.created_at) }),
        el(
          "td",
          {},
          el(
            "div",
            { class: "actions" },
            el("a", { class: "button small", href: `/new/backtest?dataset=${d.id}`, text: "Backtest" }),
            el("button", {
              type: "button",
              class: "small danger",
              text: "Delete",
              "aria-label": `Delete ${d.name}`,
              onclick: () => remove(d),
            }),
          ),
        ),
      ),
    ),
  );
  if (!datasets.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No datasets yet: upload a CSV or Parquet file above." })));
}

async function remove(dataset) {
  if (!(await confirmAction(`Delete the dataset ${dataset.name} (${dataset.id})?`))) return;
  try {
    await api(`/datasets/${dataset.id}`, { method: "DELETE" });
    toast(`${dataset.name} deleted`);
    await load();
  } catch (error) {
    notice(error.message);
  }
}

function choose(file) {
  chosen = file;
  document.getElementById("file-name").textContent = file ? `${file.name} (${fmt.bytes(file.size)})` : "";
}

async function upload(event) {
  event.preventDefault();
  const result = document.getElementById("upload-result");
  const problems = document.getElementById("upload-problems");
  result.className = "notice";
  result.textContent = "";
  problems.replaceChildren();
  if (!chosen) {
    result.className = "notice error";
    result.textContent = "Choose or drop a file first.";
    return;
  }
  const form = new FormData();
  form.append("file", chosen, chosen.name);
  const name = document.getElementById("ds-name").value.trim();
  if (name) form.append("name", name);
  form.append("datetime_column", document.getElementById("ds-datetime").value.trim() || "datetime");
  const button = document.getElementById("upload-button");
  button.disabled = true;
  try {
    const dataset = await api("/datasets", { method: "POST", form });
    result.className = "notice ok";
    result.replaceChildren(`Stored ${dataset.name}: ${dataset.rows} rows, ${dataset.first} to ${dataset.last}. `, el("a", { href: `/new/backtest?dataset=${dataset.id}`, text: "Backtest it" }));
    choose(null);
    await load();
  } catch (error) {
    result.className = "notice error";
    const detail = Array.isArray(error.detail) ? error.detail[0] : null;
    result.textContent = detail ? detail.msg : error.message;
    if (detail?.problems?.length) {
      problems.replaceChildren(
        el("h3", { text: `Problems by row (${detail.problems.length})` }),
        recordTable(detail.problems, [
          { key: "row", label: "Row", num: true },
          { key: "column", label: "Column" },
          { key: "msg", label: "Problem" },
        ], "Rows that failed validation"),
      );
    }
  } finally {
    button.disabled = false;
  }
}

export async function start() {
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("file");
  input.addEventListener("change", () => choose(input.files[0] || null));
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) zone.addEventListener(name, () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });
  document.getElementById("upload").addEventListener("submit", upload);
  document.getElementById("upload-button").disabled = false; // wired: safe to submit
  await load();
}
