import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { toOperatorError } from "../../src/errors";
import { App, type Started } from "./App";
import { loadConfig, MarketStore } from "./store";
import "./style.css";

// The chain is read from the start, while React renders the frame: the first view waits for it.
// The promise never rejects: a failure is the sentence the frame shows.
const store = loadConfig().then(
  (config): Started => {
    const started = new MarketStore(config);
    started.start();
    return { store: started };
  },
  (error: unknown): Started => ({ error: toOperatorError(error).message }),
);

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root element.");
createRoot(root).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);
