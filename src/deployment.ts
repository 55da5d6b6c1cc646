/**
 * Finds the system that Ignition deployed on the network in use: its deployment folder holds
 * deployed_addresses.json, keyed by future id ("MitigationMarket#PrefixRegistry").
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ContractRunner, Provider } from "ethers";

import { attachSystem, type System, type SystemAddresses } from "./deploy";
import { OperatorError } from "./errors";

/** The id of the Ignition module in ignition/modules/MitigationMarket.ts. */
export const MODULE_ID = "MitigationMarket";

/** The env var that points at a deployment folder instead of ignition/deployments/chain-<id>. */
export const DEPLOYMENT_DIR_ENV = "MARKET_DEPLOYMENT_DIR";

const FUTURES: Record<keyof SystemAddresses, string> = {
  token: `${MODULE_ID}#MitigationToken`,
  registry: `${MODULE_ID}#PrefixRegistry`,
  directory: `${MODULE_ID}#ServiceDirectory`,
};

export interface DeploymentLocation {
  /** The Ignition folder of the project (hre.config.paths.ignition). */
  ignitionDir: string;
  /** Used in the hint of the error when there is no deployment. */
  networkName?: string;
}

/** The deployment folder for a chain: $MARKET_DEPLOYMENT_DIR, else <ignition>/deployments/chain-<id>. */
export function deploymentDirectory(chainId: bigint | number, location: DeploymentLocation): string {
  const override = process.env[DEPLOYMENT_DIR_ENV];
  if (override !== undefined && override !== "") return path.resolve(override);
  return path.join(location.ignitionDir, "deployments", `chain-${chainId}`);
}

/** The system's addresses on a chain, or one sentence saying how to deploy it. */
export function readDeployment(chainId: bigint | number, location: DeploymentLocation): SystemAddresses {
  const dir = deploymentDirectory(chainId, location);
  const file = path.join(dir, "deployed_addresses.json");
  if (!existsSync(file)) {
    const network = location.networkName ?? "<name>";
    const where = process.env[DEPLOYMENT_DIR_ENV] ? ` in ${dir} (${DEPLOYMENT_DIR_ENV})` : "";
    throw new OperatorError(
      `No deployment found for chain ${chainId}${where}: run \`npx hardhat ignition deploy ignition/modules/MitigationMarket.ts --network ${network}\` first.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new OperatorError(`${file} is not valid JSON: deploy again or restore it.`);
  }
  const record = (json ?? {}) as Record<string, unknown>;
  const addresses = {} as SystemAddresses;
  for (const [key, future] of Object.entries(FUTURES) as [keyof SystemAddresses, string][]) {
    const value = record[future];
    if (typeof value !== "string") throw new OperatorError(`${file} has no address for ${future}: deploy again.`);
    addresses[key] = value;
  }
  return addresses;
}

/** Writes addresses in Ignition's format (for tests and for systems deployed by src/deploy.ts). */
export function writeDeployment(dir: string, addresses: SystemAddresses): void {
  mkdirSync(dir, { recursive: true });
  const record = Object.fromEntries(
    (Object.keys(FUTURES) as (keyof SystemAddresses)[]).map((key) => [FUTURES[key], addresses[key]]),
  );
  writeFileSync(path.join(dir, "deployed_addresses.json"), JSON.stringify(record, null, 2) + "\n");
}

/**
 * Writes the addresses of a system that src/deploy.ts deployed (the demo on a node) where the tasks
 * and the dashboard look, but never over a deployment Ignition made: its journal would then name
 * other contracts than its addresses file.
 */
export function writeDemoDeployment(dir: string, addresses: SystemAddresses): void {
  if (existsSync(path.join(dir, "journal.jsonl"))) {
    throw new OperatorError(
      `${dir} holds an Ignition deployment, which the demo will not overwrite: set ${DEPLOYMENT_DIR_ENV} to another folder (e.g. var/demo) or remove it.`,
    );
  }
  writeDeployment(dir, addresses);
}

/**
 * The deployed system on the runner's chain, after checking that there is code at every address
 * (a restarted dev node keeps the folder but loses the contracts).
 */
export async function loadDeployedSystem(
  provider: Provider,
  runner: ContractRunner,
  location: DeploymentLocation,
): Promise<System> {
  const { chainId } = await provider.getNetwork();
  const addresses = readDeployment(chainId, location);
  for (const key of Object.keys(FUTURES) as (keyof SystemAddresses)[]) {
    const address = addresses[key];
    if ((await provider.getCode(address)) === "0x") {
      throw new OperatorError(
        `The deployment for chain ${chainId} names ${address} as the ${key}, but there is no contract there: was the node restarted? Deploy again.`,
      );
    }
  }
  return attachSystem(addresses, runner);
}
