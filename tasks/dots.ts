/** `npx hardhat dots-gateway --gateway-config gateway.json`: a DOTS server in front of the victim side. */
import { NonceManager, getAddress } from "ethers";
import path from "node:path";
import { task, types } from "hardhat/config";

import { MarketClient } from "../src/clients/market";
import { PreflightSigner } from "../src/clients/preflight";
import { RegistryClient } from "../src/clients/registry";
import { loadDeployedSystem } from "../src/deployment";
import { readGatewayConfig } from "../src/dots/config";
import { startGateway } from "../src/dots/gateway";
import { OperatorError, toOperatorError } from "../src/errors";

function stamp(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

task("dots-gateway", "Runs the DOTS gateway (RFC 9132 signal channel, RFC 8783 data channel) until SIGINT/SIGTERM")
  .addOptionalParam("gatewayConfig", "The gateway's configuration file (JSON)", undefined, types.string)
  .setAction(async (args: { gatewayConfig?: string }, hre) => {
    try {
      if (args.gatewayConfig === undefined) throw new OperatorError("--gateway-config is required.");
      const config = readGatewayConfig(args.gatewayConfig);
      const signers = await hre.ethers.getSigners();
      const provider = hre.ethers.provider;
      const system = await loadDeployedSystem(provider, signers[0], {
        ignitionDir: hre.config.paths.ignition ?? path.join(hre.config.paths.root, "ignition"),
        networkName: hre.network.name,
      });
      const markets = new Map<string, MarketClient>();
      for (const account of new Set(config.clients.flatMap((c) => c.accounts))) {
        const signer = signers.find((s) => getAddress(s.address) === account);
        if (!signer) throw new OperatorError(`${account} is not one of the accounts of network "${hre.network.name}".`);
        markets.set(
          account,
          new MarketClient(system.directory, system.token, new PreflightSigner(new NonceManager(signer))),
        );
      }
      const gateway = await startGateway(
        config,
        { registry: new RegistryClient(system.registry), markets, provider },
        stamp,
      );
      const signal = await new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      stamp(`${signal}: stopping`);
      await gateway.stop();
    } catch (error) {
      console.error(toOperatorError(error).message);
      process.exitCode = 1;
    }
  });
