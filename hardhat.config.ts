import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";

import "./tasks";

/** The one compiler version of the project, pinned to the `solc` npm package in package.json. */
const SOLC_VERSION = "0.8.28";

// No internet: Hardhat cannot download solc, so compile with the soljson.js that the pinned
// `solc` npm package ships (Hardhat's "using a custom Solidity compiler" guide).
subtask(
  TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD,
  async (args: { solcVersion: string }, _hre, runSuper): Promise<unknown> => {
    if (args.solcVersion !== SOLC_VERSION) return (await runSuper()) as unknown;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const solc = require("solc") as { version(): string };
    const longVersion = solc.version();
    if (!longVersion.startsWith(SOLC_VERSION)) {
      throw new Error(`the solc npm package is ${longVersion}, but the project pins ${SOLC_VERSION}: run npm ci`);
    }
    return {
      compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
      isSolcJs: true,
      version: SOLC_VERSION,
      longVersion,
    };
  },
);

const env = process.env;

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
    },
  },
  networks: {
    hardhat: {
      // The demo and tests trade at real wall-clock deadlines; keep the chain's clock honest.
      initialBaseFeePerGas: 0,
    },
    localhost: { url: "http://127.0.0.1:8545" },
    anvil: { url: env.ANVIL_URL ?? "http://127.0.0.1:8545" },
  },
  gasReporter: {
    enabled: env.REPORT_GAS === "true",
    outputFile: env.REPORT_GAS_FILE,
    noColors: env.REPORT_GAS_FILE !== undefined,
    offline: true,
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  mocha: { timeout: 120_000 },
};

export default config;
