/**
 * `npm run bench:dots`: the latency from a DOTS PUT (coap-client-openssl, PSK over coaps+tcp) to
 * the acknowledgements on chain, on anvil with 1 s blocks, with two provider agents (log back end)
 * serving the two reported sources. Five runs; writes bench/results/dots-latency.{json,md,svg}.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";

import { encodeDots, fromJsonMapping, type DotsObject } from "../../src/dots/codec";
import { coap, coapClientInstalled, startMarket } from "../../test/dots/helpers";
import { writeResults } from "../lib/results";
import { distribution, round } from "../lib/stats";

const RUNS = Number(process.env.DOTS_RUNS ?? 5);
const BLOCK_TIME = Number(process.env.ANVIL_BLOCK_TIME ?? 1);

function request(target: string): DotsObject {
  return fromJsonMapping({
    "ietf-dots-signal-channel:mitigation-scope": {
      scope: [
        {
          "target-prefix": [target],
          lifetime: 600,
          "ietf-dots-telemetry:attack-detail": [
            {
              "vendor-id": 1,
              "attack-id": 1,
              "top-talker": { talker: [{ "source-prefix": "198.51.100.23/32" }, { "source-prefix": "192.0.2.7/32" }] },
            },
          ],
        },
      ],
    },
  }) as DotsObject;
}

async function main(): Promise<void> {
  if (!coapClientInstalled()) throw new Error("coap-client-openssl is not installed: apt-get install libcoap3-bin.");
  const dir = mkdtempSync(path.join(tmpdir(), "dots-bench-"));
  // Set up with automine (dozens of set-up transactions), then mine a block every BLOCK_TIME s.
  const cleanup: (() => Promise<void> | void)[] = [];
  const market = await startMarket(["alpha", "gamma"], cleanup);
  if (!market) throw new Error("anvil is not installed: npm ci.");
  await market.anvil.provider.send("evm_setAutomine", [false]);
  await market.anvil.provider.send("evm_setIntervalMining", [BLOCK_TIME]);
  const runs: { created: number; acknowledged: number }[] = [];
  try {
    market.agents.alpha.start();
    market.agents.gamma.start();
    for (let i = 1; i <= RUNS; i++) {
      const body = path.join(dir, `request-${i}.cbor`);
      writeFileSync(body, encodeDots(request(`203.0.113.${10 + i}/32`)));
      const started = performance.now();
      const put = await coap(market.gateway.signalPort, "put", `mitigate/cuid=bench/mid=${i}`, "psk", [
        "-t",
        "271",
        "-f",
        body,
      ]);
      const created = performance.now() - started;
      if (put.code !== "2.01") throw new Error(`run ${i}: the PUT got ${put.code ?? "no answer"}.`);
      const [m] = market.gateway.mitigations.list("example-hosting", "bench", i);
      const purchases = m.purchase!.purchases;
      // Read the chain itself (not the gateway's follower) until every purchase is acknowledged.
      for (;;) {
        const infos = await Promise.all(purchases.map((p) => market.victimMarket.getRequest(p.service, p.requestId)));
        if (infos.every((r) => r.status === "acknowledged")) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const acknowledged = performance.now() - started;
      runs.push({ created: round(created), acknowledged: round(acknowledged) });
      console.log(
        `run ${i}: 2.01 after ${round(created)} ms, both acknowledgements on chain after ${round(acknowledged)} ms`,
      );
      await coap(market.gateway.signalPort, "delete", `mitigate/cuid=bench/mid=${i}`, "psk");
    }
  } finally {
    await market.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const created = distribution(runs.map((r) => r.created));
  const acknowledged = distribution(runs.map((r) => r.acknowledged));
  const load = loadavg().map((l) => l.toFixed(2));
  const uptime = execFileSync("uptime").toString().trim();
  const result = { runs, blockTime: BLOCK_TIME, created, acknowledged, loadAverage: load, uptime };
  const markdown = [
    "# DOTS gateway: PUT to acknowledgement on chain",
    "",
    `anvil, ${BLOCK_TIME} s blocks; coap-client-openssl (PSK, coaps+tcp) → gateway → one request transaction to Alpha and Gamma → their provider agents acknowledge. Load average ${load.join(", ")}.`,
    "",
    "| run | PUT → 2.01 Created (ms) | PUT → both acknowledgements on chain (ms) |",
    "| --- | --- | --- |",
    ...runs.map((r, i) => `| ${i + 1} | ${r.created} | ${r.acknowledged} |`),
    `| median | ${round(created.p50)} | ${round(acknowledged.p50)} |`,
    "",
  ].join("\n");
  const width = 400;
  const max = Math.max(...runs.map((r) => r.acknowledged));
  const bars = runs
    .map((r, i) => {
      const y = 20 + i * 30;
      return `<rect x="60" y="${y}" width="${(r.acknowledged / max) * (width - 80)}" height="12" fill="#4a7"/><rect x="60" y="${y + 12}" width="${(r.created / max) * (width - 80)}" height="6" fill="#47a"/><text x="5" y="${y + 12}" font-size="11">run ${i + 1}</text>`;
    })
    .join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${40 + runs.length * 30}"><text x="60" y="12" font-size="11">PUT → 2.01 (blue), PUT → acknowledged (green); max ${round(max)} ms</text>${bars}</svg>\n`;
  await writeResults(path.join(__dirname, "..", "results", "dots-latency"), result, markdown, svg);
  console.log(
    `median: 2.01 after ${round(created.p50)} ms, acknowledged after ${round(acknowledged.p50)} ms (load ${load.join(" ")})`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
