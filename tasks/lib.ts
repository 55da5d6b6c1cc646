/** What every operator task shares: the system, the signer, output, and one-sentence errors. */
import path from "node:path";
import type { ContractTransactionReceipt } from "ethers";
import { types } from "hardhat/config";
import type { ActionType, ConfigurableScopeDefinition } from "hardhat/types";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { MarketClient } from "../src/clients/market";
import { RegistryClient, parseAccount } from "../src/clients/registry";
import { PreflightSigner } from "../src/clients/preflight";
import { TokenClient } from "../src/clients/token";
import type { System } from "../src/deploy";
import { loadDeployedSystem } from "../src/deployment";
import { OperatorError, toOperatorError } from "../src/errors";

/** Arguments every task takes. */
export interface CommonArgs {
  json: boolean;
  from: string;
}

/** The deployed system, seen by one account. */
export interface Operator {
  signer: HardhatEthersSigner;
  address: string;
  system: System;
  registry: RegistryClient;
  market: MarketClient;
  token: TokenClient;
}

/** What a task prints: `text` for people, `data` for `--json` (and as the value of hre.run). */
export interface Outcome<T> {
  data: T;
  text: string;
}

/** The signer chosen by `--from`: an account index ("0") or one of the network's addresses. */
export async function chooseSigner(hre: HardhatRuntimeEnvironment, from: string): Promise<HardhatEthersSigner> {
  const signers = await hre.ethers.getSigners();
  const trimmed = from.trim();
  if (signers.length === 0) {
    throw new OperatorError(`Network "${hre.network.name}" has no accounts: configure a key or mnemonic for it.`);
  }
  if (/^\d{1,4}$/.test(trimmed)) {
    const signer = signers[Number(trimmed)];
    if (signer === undefined) {
      throw new OperatorError(
        `Account index ${trimmed} does not exist: network "${hre.network.name}" has accounts 0 to ${signers.length - 1}.`,
      );
    }
    return signer;
  }
  const address = parseAccount(trimmed, "--from");
  const signer = signers.find((s) => s.address === address);
  if (signer === undefined) {
    throw new OperatorError(`${address} is not one of the accounts of network "${hre.network.name}".`);
  }
  return signer;
}

/** The system from the network's Ignition deployment, with clients acting as `--from`. */
export async function operator(hre: HardhatRuntimeEnvironment, from: string): Promise<Operator> {
  const signer = await chooseSigner(hre, from);
  // Every transaction is estimated first: a call the contracts would refuse is never sent.
  const sender = new PreflightSigner(signer);
  const system = await loadDeployedSystem(hre.ethers.provider, sender, {
    ignitionDir: hre.config.paths.ignition ?? path.join(hre.config.paths.root, "ignition"),
    networkName: hre.network.name,
  });
  return {
    signer,
    address: signer.address,
    system,
    registry: new RegistryClient(system.registry),
    market: new MarketClient(system.directory, system.token, sender),
    token: new TokenClient(system.token),
  };
}

/** A scoped task with the common `--json` and `--from` options. */
export function operatorTask(scope: ConfigurableScopeDefinition, name: string, description: string) {
  return scope
    .task(name, description)
    .addFlag("json", "Print the result as JSON")
    .addOptionalParam("from", "The account to act as: an address or an account index", "0", types.string);
}

/** "originAsn" → "--origin-asn". */
export function flag(name: string): string {
  return "--" + name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/**
 * Runs a task's action: prints its text or JSON and returns its data; any error becomes one
 * sentence on stderr and exit code 1, with no stack trace.
 */
export function operatorAction<A extends CommonArgs, T>(
  required: readonly (keyof A & string)[],
  action: (args: A, hre: HardhatRuntimeEnvironment) => Promise<Outcome<T>>,
): ActionType<A>;
export function operatorAction<A extends CommonArgs, T>(
  action: (args: A, hre: HardhatRuntimeEnvironment) => Promise<Outcome<T>>,
): ActionType<A>;
export function operatorAction<A extends CommonArgs, T>(
  first: readonly (keyof A & string)[] | ((args: A, hre: HardhatRuntimeEnvironment) => Promise<Outcome<T>>),
  second?: (args: A, hre: HardhatRuntimeEnvironment) => Promise<Outcome<T>>,
): ActionType<A> {
  const required = typeof first === "function" ? [] : first;
  const action = typeof first === "function" ? first : second!;
  return async (args: A, hre: HardhatRuntimeEnvironment): Promise<T | undefined> => {
    try {
      // Required options are declared optional so that a missing one is our sentence, not HH306.
      for (const name of required) {
        if (args[name] === undefined) throw new OperatorError(`${flag(name)} is required.`);
      }
      const outcome = await action(args, hre);
      console.log(args.json ? toJson(outcome.data) : outcome.text);
      return outcome.data;
    } catch (error) {
      console.error(toOperatorError(error).message);
      process.exitCode = 1;
      return undefined;
    }
  };
}

/** The part of a receipt that output shows. */
export interface TxInfo {
  transactionHash: string;
  blockNumber: number;
}

export function txInfo(receipt: ContractTransactionReceipt): TxInfo {
  return { transactionHash: receipt.hash, blockNumber: receipt.blockNumber };
}

/** " (tx 0x…, block 12)" */
export function txText(receipt: ContractTransactionReceipt): string {
  return ` (tx ${receipt.hash}, block ${receipt.blockNumber})`;
}
