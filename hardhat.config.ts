import { existsSync } from "node:fs";
import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import type { HttpNetworkUserConfig, NetworksUserConfig } from "hardhat/types";
import "@nomicfoundation/hardhat-toolbox";

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

// The operator tasks use the TypeChain types, which the first compile generates: on a fresh clone
// `npm run build` (or `npm test`, which compiles first) must run before they are available.
if (existsSync(path.join(__dirname, "typechain-types", "index.ts"))) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("./tasks");
}

const env = process.env;

/**
 * `hardhat coverage` instruments every line; through the IR, the instrumented build is slow and can
 * run out of stack. Coverage measures lines and branches, not gas, so it compiles the same source
 * with the legacy pipeline.
 */
const COVERAGE = process.argv.includes("coverage");

/** A production network (e.g. a Besu QBFT consortium chain), configured only from the environment. */
function consortiumNetwork(): NetworksUserConfig {
  const url = env.CONSORTIUM_RPC_URL;
  if (url === undefined || url === "") return {};
  const chainIdText = env.CONSORTIUM_CHAIN_ID;
  if (chainIdText !== undefined && !/^\d+$/.test(chainIdText)) {
    throw new Error(`CONSORTIUM_CHAIN_ID is "${chainIdText}", not a whole number.`);
  }
  const accounts: HttpNetworkUserConfig["accounts"] = env.CONSORTIUM_PRIVATE_KEY
    ? [env.CONSORTIUM_PRIVATE_KEY]
    : env.CONSORTIUM_MNEMONIC
      ? { mnemonic: env.CONSORTIUM_MNEMONIC }
      : "remote";
  return {
    consortium: { url, chainId: chainIdText === undefined ? undefined : Number(chainIdText), accounts },
  };
}

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Through the IR, optimized for runtime: a settled order costs ~6,000 gas less than with the
      // legacy pipeline (docs/design.md, "Signed orders"); a full compile takes ~40 s.
      optimizer: { enabled: true, runs: 1_000_000 },
      evmVersion: "cancun",
      viaIR: !COVERAGE,
    },
  },
  networks: {
    hardhat: {
      // The demo and tests trade at real wall-clock deadlines; keep the chain's clock honest.
      initialBaseFeePerGas: 0,
    },
    localhost: { url: "http://127.0.0.1:8545" },
    anvil: { url: env.ANVIL_URL ?? "http://127.0.0.1:8545" },
    ...consortiumNetwork(),
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
