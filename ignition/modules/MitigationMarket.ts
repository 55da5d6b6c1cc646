/**
 * The whole system for a real network: the token, the registry and the service directory, with
 * the same constructor arguments as src/deploy.ts. Addresses land in
 * ignition/deployments/chain-<id>/deployed_addresses.json, where src/deployment.ts finds them.
 *
 *   npx hardhat ignition deploy ignition/modules/MitigationMarket.ts --network <name> \
 *     --parameters ignition/parameters.json
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export default buildModule("MitigationMarket", (m) => {
  const deployer = m.getAccount(0);
  const admin = m.getParameter("admin", deployer);
  const minter = m.getParameter("minter", deployer);
  // Ignition resolves an account default only for a whole parameter, not inside a list, so the
  // registry starts with one registrar; the admin grants REGISTRAR_ROLE to others later.
  const registrar = m.getParameter("registrar", deployer);

  const token = m.contract("MitigationToken", [
    m.getParameter("tokenName", "Mitigation Token"),
    m.getParameter("tokenSymbol", "MIT"),
    admin,
    minter,
  ]);
  const registry = m.contract("PrefixRegistry", [admin, [registrar]]);
  const directory = m.contract("ServiceDirectory", [token, registry]);

  return { token, registry, directory };
});
