// Entry point: wire the API-key button, then start the current page's module.
import { askForKey } from "./api.js";
import { notice } from "./ui.js";

const PAGES = {
  runs: () => import("./runs.js"),
  new: () => import("./form.js"),
  run: () => import("./run.js"),
  compare: () => import("./compare.js"),
  datasets: () => import("./datasets.js"),
  markets: () => import("./markets.js"),
  plugins: () => import("./catalog.js"),
  contracts: () => import("./catalog.js"),
};

document.getElementById("key-button").addEventListener("click", async () => {
  if (await askForKey("Set the key this browser sends as Authorization: Bearer <key>.")) {
    location.reload();
  }
});

const page = document.body.dataset.page;
const load = PAGES[page];
if (load) {
  load()
    .then((module) => module.start(document.body.dataset))
    .then(() => (document.body.dataset.ready = "true"))
    .catch((error) => {
      console.warn(error);
      notice(error.message);
    });
}
