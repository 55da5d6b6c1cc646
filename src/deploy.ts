/** Deploys the whole system with TypeChain factories (tests, demo, benchmarks). Operators use the
 * Ignition module in ignition/modules, which deploys the same contracts with the same arguments. */
import type { ContractRunner, Signer } from "ethers";

import {
  MitigationToken__factory,
  PrefixRegistry__factory,
  ServiceDirectory__factory,
  type MitigationToken,
  type PrefixRegistry,
  type ServiceDirectory,
} from "../typechain-types";

/** The deployed contracts of one system. */
export interface System {
  token: MitigationToken;
  registry: PrefixRegistry;
  directory: ServiceDirectory;
}

/** Their addresses, as stored in a deployment. */
export interface SystemAddresses {
  token: string;
  registry: string;
  directory: string;
}

export interface DeployOptions {
  /** Admin of the token and the registry; defaults to the deployer. */
  admin?: string;
  /** Holder of the token's minter role; defaults to the admin. */
  minter?: string;
  /** The registry's initial registrars; defaults to the admin alone. */
  registrars?: string[];
  tokenName?: string;
  tokenSymbol?: string;
}

export async function deploySystem(deployer: Signer, options: DeployOptions = {}): Promise<System> {
  const admin = options.admin ?? (await deployer.getAddress());
  const token = await new MitigationToken__factory(deployer).deploy(
    options.tokenName ?? "Mitigation Token",
    options.tokenSymbol ?? "MIT",
    admin,
    options.minter ?? admin,
  );
  const registry = await new PrefixRegistry__factory(deployer).deploy(admin, options.registrars ?? [admin]);
  await Promise.all([token.waitForDeployment(), registry.waitForDeployment()]);
  const directory = await new ServiceDirectory__factory(deployer).deploy(
    await token.getAddress(),
    await registry.getAddress(),
  );
  await directory.waitForDeployment();
  return { token, registry, directory };
}

export function attachSystem(addresses: SystemAddresses, runner: ContractRunner): System {
  return {
    token: MitigationToken__factory.connect(addresses.token, runner),
    registry: PrefixRegistry__factory.connect(addresses.registry, runner),
    directory: ServiceDirectory__factory.connect(addresses.directory, runner),
  };
}

export async function systemAddresses(system: System): Promise<SystemAddresses> {
  return {
    token: await system.token.getAddress(),
    registry: await system.registry.getAddress(),
    directory: await system.directory.getAddress(),
  };
}
