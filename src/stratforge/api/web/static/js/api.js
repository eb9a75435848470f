// Talking to /api/v1: the API key, JSON errors, Server-Sent Events and downloads.
const KEY = "stratforge.apiKey";
export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : describeDetail(detail));
    this.status = status;
    this.detail = detail;
  }
}

function describeDetail(detail) {
  if (!Array.isArray(detail)) return JSON.stringify(detail);
  return detail.map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`).join("; ");
}

function authHeaders(extra = {}) {
  const key = localStorage.getItem(KEY);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
}

let pendingKey = null;

/** Ask for the API key (once for every request that got a 401 at the same time). */
export function askForKey(reason) {
  if (pendingKey) return pendingKey;
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  document.getElementById("key-reason").textContent =
    reason || "The key is kept in this browser only.";
  input.value = localStorage.getItem(KEY) || "";
  dialog.returnValue = ""; // Escape leaves the last answer in place otherwise
  document.getElementById("key-forget").onclick = () => dialog.close("forget");
  document.getElementById("key-cancel").onclick = () => dialog.close("cancel");
  pendingKey = new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        pendingKey = null;
        if (dialog.returnValue === "save" && input.value.trim()) {
          localStorage.setItem(KEY, input.value.trim());
          resolve(true);
        } else {
          if (dialog.returnValue === "forget") localStorage.removeItem(KEY);
          resolve(false);
        }
      },
      { once: true },
    );
  });
  dialog.showModal();
  input.focus();
  return pendingKey;
}

async function send(path, init) {
  for (;;) {
    const response = await fetch(API + path, { ...init, headers: authHeaders(init.headers) });
    if (response.status !== 401) return response;
    const asked = await askForKey("This server needs its API key (STRATFORGE_API_KEY).");
    if (!asked) throw new ApiError(401, "an API key is needed: use the API key button");
  }
}

async function failure(response) {
  const text = await response.text();
  let detail = text || response.statusText;
  try {
    detail = JSON.parse(text).detail ?? detail;
  } catch {
    /* not JSON: keep the text */
  }
  return new ApiError(response.status, detail);
}

/** JSON request; throws ApiError with the API's detail on any non-2xx answer. */
export async function api(path, { method = "GET", body, form } = {}) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  } else if (form) {
    init.body = form;
  }
  const response = await send(path, init);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return response.json();
}

/** Follow an SSE endpoint with fetch (EventSource cannot send the API key).
 *  handlers: {eventName(data)}; resolves when the stream ends or `signal` aborts. */
export async function stream(path, handlers, signal) {
  const response = await send(path, { headers: { Accept: "text/event-stream" }, signal });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length && handlers[event]) handlers[event](JSON.parse(data.join("\n")));
    }
  }
}

/** Keep a stream open: reconnect after it ends or fails, until `signal` aborts. */
export async function follow(path, handlers, signal, onState = () => {}) {
  while (!signal.aborted) {
    try {
      onState("live");
      await stream(typeof path === "function" ? path() : path, handlers, signal);
    } catch (error) {
      if (signal.aborted) return;
      if (error.status === 401) {
        onState("paused: the API key is missing or wrong (API key button, then reload)");
        return;
      }
      onState("reconnecting");
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Download an API resource as a file (a plain link could not carry the API key). */
export async function download(path, filename) {
  const response = await send(path, {});
  if (!response.ok) throw await failure(response);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Job states that can still change, and each job kind's resource under /api/v1. */
export const ACTIVE = new Set(["queued", "running"]);
export const RESOURCES = { backtest: "backtests", optimize: "optimizations", walkforward: "walkforwards" };

/** Follow one job until it finishes: its SSE stream, re-opened or replaced by a read of the
 *  job when the connection drops. Resolves with the last state. */
export async function watchJob(resource, id, onUpdate, signal) {
  for (;;) {
    let last = null;
    try {
      await stream(
        `/${resource}/${id}/events`,
        {
          status: onUpdate,
          end: (snapshot) => {
            last = snapshot;
            onUpdate(snapshot);
          },
        },
        signal,
      );
    } catch (error) {
      if (signal?.aborted || error.status === 401 || error.status === 404) throw error;
    }
    if (last) return last;
    const job = await api(`/${resource}/${id}`);
    onUpdate(job);
    if (!ACTIVE.has(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
