/** anvil as a child process for integration tests, and wallets of its default accounts. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, Network, NonceManager } from "ethers";

import { PreflightSigner } from "../../src/clients/preflight";
import { freePort } from "../../src/net";

/** anvil's default accounts come from this mnemonic. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
const ANVIL_BIN = path.join(__dirname, "..", "..", "node_modules", ".bin", "anvil");

export interface TestAnvil {
  process: ChildProcess;
  provider: JsonRpcProvider;
  port: number;
  stop(): void;
}

export interface TestAnvilOptions {
  /** Milliseconds to wait for anvil to answer. */
  timeoutMs?: number;
  /** Seconds between blocks (interval mining, as a real chain); automine when absent. */
  blockTime?: number;
  /** The port (to start a stopped node again where its clients look for it); a free one by default. */
  port?: number;
  /** A file the chain is loaded from at start and saved to on stop (a node that comes back). */
  statePath?: string;
}

/**
 * Starts anvil (automine unless `blockTime` is given, default mnemonic) on a free port and waits
 * until it answers. Returns null, after saying why, when the binary is missing: `npm ci` installs it.
 */
export async function startTestAnvil(options: TestAnvilOptions = {}): Promise<TestAnvil | null> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  if (!existsSync(ANVIL_BIN)) {
    console.log(`    (skipped: no anvil binary at ${ANVIL_BIN}; npm ci installs @foundry-rs/anvil-linux-amd64)`);
    return null;
  }
  const port = options.port ?? (await freePort());
  const mining = options.blockTime === undefined ? [] : ["--block-time", String(options.blockTime)];
  const state = options.statePath === undefined ? [] : ["--state", options.statePath];
  const child = spawn(
    ANVIL_BIN,
    ["--port", String(port), "--silent", "--mnemonic", ANVIL_MNEMONIC, ...mining, ...state],
    {
      stdio: "ignore",
    },
  );
  const network = Network.from(31337);
  const provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, network, { staticNetwork: network, polling: true });
  provider.pollingInterval = 50;
  const stop = () => {
    provider.destroy();
    child.kill();
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}`);
    try {
      await provider.send("eth_chainId", []);
      return { process: child, provider, port, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        stop();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Account `index` of anvil's default mnemonic, with local nonces and gas estimated before sending. */
export function anvilWallet(provider: JsonRpcProvider, index: number): PreflightSigner {
  const phrase = Mnemonic.fromPhrase(ANVIL_MNEMONIC);
  const signer = HDNodeWallet.fromMnemonic(phrase, `m/44'/60'/0'/0/${index}`).connect(provider);
  return new PreflightSigner(new NonceManager(signer));
}
