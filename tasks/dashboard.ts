/** `npx hardhat dashboard` (`npm run dashboard`): the market in a browser, read-only. */
import path from "node:path";
import { task, types } from "hardhat/config";

import { buildDashboard } from "../src/dashboard/build";
import { DEFAULT_MAX_BLOCK_RANGE, DEFAULT_POLL_MS } from "../src/dashboard/config";
import { dashboardConfig } from "../src/dashboard/setup";
import { eip1193Upstream, httpUpstream, startDashboardServer } from "../src/dashboard/server";
import { toOperatorError } from "../src/errors";
import { parseWholeNumber } from "../src/input";

interface DashboardArgs {
  port: string;
  host: string;
  pollMs: string;
  maxBlockRange: string;
  rebuild: boolean;
}

task("dashboard", "Serves the market's read-only web dashboard for this network (runs until SIGINT/SIGTERM)")
  .addOptionalParam("port", "The port to listen on (0: any free port)", "8080", types.string)
  .addOptionalParam("host", "The address to listen on", "127.0.0.1", types.string)
  .addOptionalParam("pollMs", "Milliseconds between the web app's head polls", String(DEFAULT_POLL_MS), types.string)
  .addOptionalParam(
    "maxBlockRange",
    "The most blocks one eth_getLogs call spans",
    String(DEFAULT_MAX_BLOCK_RANGE),
    types.string,
  )
  .addFlag("rebuild", "Build the web app even if the last build is current")
  .setAction(async (args: DashboardArgs, hre) => {
    try {
      const port = parseWholeNumber(args.port, "port", 0, 65535);
      const pollMs = parseWholeNumber(args.pollMs, "poll interval in ms", 50);
      const maxBlockRange = parseWholeNumber(args.maxBlockRange, "block range", 1);
      const config = await dashboardConfig({
        provider: hre.ethers.provider,
        location: { ignitionDir: hre.config.paths.ignition ?? path.join(hre.config.paths.root, "ignition") },
        network: hre.network.name,
        pollMs,
        maxBlockRange,
      });
      const { outDir, built, ms } = await buildDashboard({ force: args.rebuild });
      console.log(built ? `web app built in ${ms} ms` : "web app build is current");
      const url = "url" in hre.network.config ? hre.network.config.url : undefined;
      const server = await startDashboardServer({
        upstream: url === undefined ? eip1193Upstream(hre.network.provider) : httpUpstream(url),
        config,
        staticDir: outDir,
        host: args.host,
        port,
        onError: (message) => console.error(`${new Date().toISOString()} ${message}`),
      });
      console.log(
        `dashboard of ${hre.network.name} (chain ${config.chainId}, events from block ${config.startBlock}) at ${server.url}`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await server.close();
    } catch (error) {
      console.error(toOperatorError(error).message);
      process.exitCode = 1;
    }
  });
