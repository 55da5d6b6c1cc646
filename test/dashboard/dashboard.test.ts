/**
 * The dashboard in a real browser: anvil mines a block a second, the demo runs against it as an
 * operator runs it (`hardhat run scripts/demo.ts --network anvil`), the dashboard server serves
 * the built app, and Debian's Chromium (driven by playwright-core) opens it. The test checks the
 * providers' table, a request made after the page opened appearing and changing state live, a
 * registry lookup and the accounts' balances; any console error or page error fails it. It prints
 * the first view's render time and how long after its block a request's row appears, and saves
 * a screenshot of every view (in docs/dashboard/ with DASHBOARD_SCREENSHOTS=docs).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ZeroAddress, getAddress, parseUnits } from "ethers";
import { chromium, type BrowserContext, type Page } from "playwright-core";

import { MarketClient } from "../../src/clients/market";
import { buildDashboard } from "../../src/dashboard/build";
import { DEFAULT_POLL_MS } from "../../src/dashboard/config";
import { httpUpstream, startDashboardServer, type DashboardServer } from "../../src/dashboard/server";
import { dashboardConfig } from "../../src/dashboard/setup";
import { attachSystem, type System } from "../../src/deploy";
import { DEPLOYMENT_DIR_ENV } from "../../src/deployment";
import { formatTokens } from "../../src/format";
import { anvilWallet, startTestAnvil, type TestAnvil } from "../helpers/anvil";

const ROOT = path.join(__dirname, "..", "..");
const HARDHAT = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");
const CHROMIUM = "/usr/bin/chromium";
/**
 * Where the screenshots go: docs/dashboard/ (the README shows them) when DASHBOARD_SCREENSHOTS=docs,
 * else a temporary folder, so that a test run leaves the working tree as it was.
 */
const SCREENSHOTS =
  process.env.DASHBOARD_SCREENSHOTS === "docs"
    ? path.join(ROOT, "docs", "dashboard")
    : path.join(tmpdir(), "ddos-market-dashboard-screenshots");
const BLOCK_MS = 1000;
/** The scenario's accounts on anvil: 3 is the victim, 4 Alpha Transit (src/scenario.ts). */
const VICTIM = 3;
const ALPHA = 4;

const load = () => `load average ${loadavg()[0].toFixed(2)}`;

/** Runs the demo against the node; resolves with its output once it has exited with 0. */
function runDemo(rpcUrl: string, deploymentDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HARDHAT, "run", "--no-compile", "scripts/demo.ts", "--network", "anvil"], {
      cwd: ROOT,
      env: { ...process.env, ANVIL_URL: rpcUrl, [DEPLOYMENT_DIR_ENV]: deploymentDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`the demo exited with ${code}:\n${output.slice(-3000)}`)),
    );
  });
}

/**
 * A script for the page that resolves with the page's clock (`now`) at the DOM change that makes
 * `selector` match: the moment the browser has it, without the test's own polling delay.
 */
function appearance(selector: string, now: "Date.now()" | "performance.now()"): string {
  return `new Promise((resolve) => {
    const found = () => document.querySelector(${JSON.stringify(selector)}) !== null;
    if (found()) return resolve(${now});
    const observer = new MutationObserver(() => {
      if (found()) {
        observer.disconnect();
        resolve(${now});
      }
    });
    observer.observe(document, { subtree: true, childList: true, attributes: true });
  })`;
}

const FIRST_VIEW = '#providers[data-ready="true"] tbody[data-provider]';

/**
 * Polls the node's block number every 5 ms from a worker thread (so that the test's own work does
 * not delay it) and posts each new block with the time it was first seen.
 */
const CLOCK_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
let running = true;
parentPort.on("message", () => (running = false));
(async () => {
  let last = -1;
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] });
  while (running) {
    const response = await fetch(workerData.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    const block = Number((await response.json()).result);
    if (block !== last) parentPort.postMessage([(last = block), Date.now()]);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  parentPort.close();
})();
`;

/** When each block was first seen. */
class BlockClock {
  private readonly seen = new Map<number, number>();
  private readonly worker: Worker;
  private failure: Error | undefined;

  constructor(url: string) {
    this.worker = new Worker(CLOCK_WORKER, { eval: true, workerData: { url } });
    this.worker.on("message", ([block, at]: [number, number]) => {
      if (!this.seen.has(block)) this.seen.set(block, at);
    });
    this.worker.on("error", (error) => (this.failure = error));
  }

  /** When `block` was first seen (waiting for the worker's message if it is still on its way). */
  async minedAt(block: number): Promise<number> {
    const deadline = Date.now() + 5000;
    while (!this.seen.has(block)) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) throw new Error(`block ${block} was never seen`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.seen.get(block)!;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

describe("dashboard in Chromium (anvil with 1 s blocks, after the demo)", function () {
  this.timeout(300_000);
  let node: TestAnvil | null = null;
  let dir: string | undefined;
  let server: DashboardServer | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let system: System;
  let demoOutput = "";
  const problems: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`    (skipped: no ${CHROMIUM}; apt-get install chromium)`);
      this.skip();
    }
    node = await startTestAnvil({ blockTime: BLOCK_MS / 1000 });
    if (node === null) this.skip();
    dir = mkdtempSync(path.join(tmpdir(), "dashboard-"));
    const rpcUrl = `http://127.0.0.1:${node.port}`;
    const deploymentDir = path.join(dir, "deployment");
    // The app builds while the demo runs.
    const [build, output] = await Promise.all([buildDashboard(), runDemo(rpcUrl, deploymentDir)]);
    demoOutput = output;
    const previous = process.env[DEPLOYMENT_DIR_ENV];
    process.env[DEPLOYMENT_DIR_ENV] = deploymentDir;
    try {
      const config = await dashboardConfig({
        provider: node.provider,
        location: { ignitionDir: path.join(ROOT, "ignition") },
        network: "anvil",
      });
      system = attachSystem(config.addresses, node.provider);
      server = await startDashboardServer({ upstream: httpUpstream(rpcUrl), config, staticDir: build.outDir });
    } finally {
      if (previous === undefined) delete process.env[DEPLOYMENT_DIR_ENV];
      else process.env[DEPLOYMENT_DIR_ENV] = previous;
    }
    context = await chromium.launchPersistentContext(path.join(dir, "chromium"), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-quic",
        "--disable-sync",
      ],
      viewport: { width: 1360, height: 760 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    // Notes when the first view is complete, from the start of every navigation.
    await page.addInitScript({ content: `window.firstView = ${appearance(FIRST_VIEW, "performance.now()")};` });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && demoOutput !== "") {
      console.log(`    the demo said:\n${demoOutput.split("\n").slice(-25).join("\n")}`);
    }
  });

  after(async function () {
    await context?.close();
    await server?.close();
    node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const screenshot = (view: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${view}.png`), fullPage: true, animations: "disabled" });
  const text = (selector: string) => page.locator(selector).innerText();

  it("renders every provider with its offerings, coverage and answers, and says how fast", async function () {
    // A new browser's first load (nothing cached), then a reload.
    const firstView = async () => {
      const ms = Math.round(await page.evaluate<number>("window.firstView"));
      const script = Math.round(
        await page.evaluate<number>('performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd'),
      );
      return `${ms} ms (the app's script ran by ${script} ms)`;
    };
    await page.goto(`${server!.url}#market`);
    const cold = await firstView();
    await page.reload();
    const warm = await firstView();
    console.log(`    first view (Market) complete ${cold} after navigation started; on reload ${warm} (${load()})`);
    const providers = ["Alpha Transit", "Beta Networks", "Gamma Telecom", "Delta Scrubbing Centres"];
    for (const name of providers) await page.waitForSelector(`#providers tbody[data-provider="${name}"]`);
    const alpha = await text('#providers tbody[data-provider="Alpha Transit"]');
    expect(alpha).to.match(/flow filtering\s+10 MIT\s+24 h\s+20\s+active/);
    expect(alpha).to.include("AS64510, AS64511");
    expect(alpha).to.include("100 %");
    expect(await page.locator('#providers tbody[data-provider="Beta Networks"] tr').count()).to.equal(2);
    // Delta's agent rejected its one request; Beta's left one unanswered.
    expect(await text('#providers tbody[data-provider="Delta Scrubbing Centres"] [data-testid="ack-rate"]')).to.match(
      /^0 %\s+0 of 1$/,
    );
    expect(await text('#providers tbody[data-provider="Beta Networks"] [data-testid="ack-rate"]')).to.match(
      /^50 %\s+1 of 2$/,
    );
    expect(problems).to.deep.equal([]);
  });

  it("shows a request made after the page opened as soon as it is mined, then its acknowledgement", async function () {
    await page.goto(`${server!.url}#live`);
    await page.waitForSelector("#live tbody tr >> nth=4");
    const victim = new MarketClient(system.directory, system.token, anvilWallet(node!.provider, VICTIM));
    const alpha = new MarketClient(system.directory, system.token, anvilWallet(node!.provider, ALPHA));
    const service = await system.directory.serviceOf(await alpha.runner.getAddress());
    const requester = await victim.runner.getAddress();
    // The id the request will get: requester << 64 | the service's next request number.
    const count = await victim.service(service).requestCount();
    const id = (BigInt(requester) << 64n) | (count + 1n);
    const row = `#live tr[data-key="${getAddress(service)}/${id}"]`;
    await victim.ensureAllowance(service, parseUnits("10", 18));

    const clock = new BlockClock(`http://127.0.0.1:${node!.port}`);
    try {
      const appeared = page.evaluate<number>(appearance(`${row}[data-status="pending"]`, "Date.now()"));
      const now = (await node!.provider.getBlock("latest"))!.timestamp;
      const { receipt } = await victim.request({
        service,
        offeringId: 0,
        target: "203.0.113.0/24",
        sources: ["198.51.100.99", "198.51.100.100"],
        duration: 1800,
        maxPrice: parseUnits("10", 18),
        ackDeadline: now + 300,
      });
      const requestMs = (await appeared) - (await clock.minedAt(receipt.blockNumber));
      expect(await text(`${row}`)).to.include("198.51.100.99/32, 198.51.100.100/32");

      const acknowledged = page.evaluate<number>(appearance(`${row}[data-status="acknowledged"]`, "Date.now()"));
      const ack = await alpha.acknowledge(service, id);
      const ackMs = (await acknowledged) - (await clock.minedAt(ack.blockNumber));
      await alpha.reportStatus(service, id, 1, 10_000_000n, 8000n);
      await victim.rate(service, id, 5);
      await page.waitForSelector(`${row} .dots-1`);
      await page.waitForSelector(`${row} >> text="rated 5 / 5"`);
      console.log(
        `    a new request's row appeared ${requestMs} ms after its block was mined, its acknowledgement ` +
          `${ackMs} ms after its block (blocks every ${BLOCK_MS} ms, the page polls every ${DEFAULT_POLL_MS} ms; ${load()})`,
      );
      expect(requestMs, "ms from mined to shown").to.be.lessThan(2 * BLOCK_MS);
      expect(ackMs, "ms from mined to shown").to.be.lessThan(2 * BLOCK_MS);
    } finally {
      await clock.stop();
    }
    expect(await text(`${row} td.prefix >> nth=0`)).to.equal("203.0.113.0/24");
    await page.selectOption('select[aria-label="provider"]', service);
    expect(await page.locator("#live tbody tr").count()).to.equal(2);
    await page.selectOption('select[aria-label="provider"]', "");
    // The demo bought from Gamma by signed order: one row of kind order, its target read from the
    // settlement's calldata, settled acknowledged.
    await page.selectOption('select[aria-label="kind"]', "order");
    const order = '#live tr[data-kind="order"]';
    expect(await page.locator("#live tbody tr").count()).to.equal(1);
    expect(await text(order))
      .to.include("Gamma Telecom")
      .and.include("settled by order");
    expect(await text(`${order} td.prefix >> nth=0`)).to.equal("203.0.113.10/32");
    expect(await page.locator(order).getAttribute("data-status")).to.be.oneOf(["acknowledged", "withdrawn"]);
    await page.selectOption('select[aria-label="kind"]', "");
    await screenshot("live");
    expect(problems).to.deep.equal([]);
  });

  it("looks up an address, a delegated address and a bad prefix by eth_call", async function () {
    await page.goto(`${server!.url}#lookup`);
    const lookup = async (query: string) => {
      await page.fill('input[name="query"]', query);
      await page.click('button[type="submit"]');
    };
    await lookup("198.51.100.1/24");
    expect(await text('[data-testid="lookup-error"]')).to.equal(
      '"198.51.100.1/24" has host bits set beyond /24: did you mean 198.51.100.0/24?',
    );
    await lookup("2001:db8:1a00::1");
    await page.waitForSelector("#lookup-result");
    expect(await text('[data-testid="holder"]')).to.include("Zeta Research Network");
    expect(await text('[data-testid="delegations"]')).to.include("out of 2001:db8:1000::/36, held by Alpha Transit");
    await lookup("198.51.100.200");
    await page.waitForSelector('#lookup-result [data-testid="covering-prefix"] >> text=198.51.100.128/25');
    expect(await text('[data-testid="origin-asn"]')).to.equal("AS64520");
    expect(await text('[data-testid="holder"]')).to.include("Beta Networks");
    const offers = await page.locator('#lookup-services tr[data-provider="Beta Networks"] td.price').allInnerTexts();
    expect(offers).to.deep.equal(["8 MIT", "12 MIT"]);
    await screenshot("lookup");
    expect(problems).to.deep.equal([]);
  });

  it("shows every account's balance as the token reports it, the charts, and a price change live", async function () {
    await page.goto(`${server!.url}#accounts`);
    // Every account a Transfer names (since the demo buys from Gamma by order, which pays Gamma
    // directly, Gamma's service contract never holds a token and is not among them).
    const transfers = await system.token.queryFilter(system.token.filters.Transfer());
    const accounts = new Set(transfers.flatMap((t) => [t.args.from, t.args.to]).filter((a) => a !== ZeroAddress));
    await page.waitForSelector(`#accounts tbody tr[data-account] >> nth=${accounts.size - 1}`);
    const rows = page.locator("#accounts tbody tr[data-account]");
    expect(await rows.count()).to.equal(accounts.size);
    for (let i = 0; i < (await rows.count()); i++) {
      const account = (await rows.nth(i).getAttribute("data-account"))!;
      expect(await rows.nth(i).locator("td.balance").innerText(), account).to.equal(
        formatTokens(await system.token.balanceOf(account)),
      );
    }
    expect(await page.locator("figure.chart svg").count()).to.equal(3);
    // Alpha lowers its price: the price chart steps down, and the Market view shows it.
    const alpha = new MarketClient(system.directory, system.token, anvilWallet(node!.provider, ALPHA));
    const lowered = alpha.updateOffering(0, {
      pricePerHour: parseUnits("9", 18),
      maxDuration: 24 * 3600,
      capacity: 20,
    });
    await page.goto(`${server!.url}#market`);
    await lowered;
    await page.waitForSelector('#providers tbody[data-provider="Alpha Transit"] td.price >> text="9 MIT"');
    // The victim rated the request of the Live test.
    expect(await text('#providers tbody[data-provider="Alpha Transit"]')).to.include("5.0 / 5");
    await screenshot("market");
    await page.goto(`${server!.url}#accounts`);
    await page.waitForSelector("figure.chart svg");
    await screenshot("accounts");
    expect(problems).to.deep.equal([]);
  });
});
