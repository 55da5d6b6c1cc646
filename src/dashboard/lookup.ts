/**
 * The dashboard's registry lookup: an IP address or prefix → the most specific registered prefix
 * covering it, its origin AS and holder, the delegations it came through, and the services that
 * cover the origin AS with their offerings. Only eth_call, a handful per lookup: it answers on a
 * registry of the whole Internet's table as fast as on the demo's. Browser-safe.
 */
import type { ContractRunner } from "ethers";

import { ProviderServiceContract__factory, type PrefixRegistry, type ServiceDirectory } from "../../typechain-types";
import { readOfferings, type OfferingInfo } from "../clients/market";
import { RegistryClient, type RouteInfo } from "../clients/registry";
import { explained } from "../errors";
import { formatAddress, formatPrefix, parseAddress, parsePrefix, type Prefix } from "../prefix";

export interface NamedRoute extends RouteInfo {
  /** The holder's organisation name in the registry ("" if it has none). */
  holderName: string;
}

export interface ServiceOffer {
  service: string;
  provider: string;
  providerName: string;
  offerings: OfferingInfo[];
}

export interface LookupResult {
  /** The query in canonical form. */
  query: string;
  kind: "address" | "prefix";
  /** From the most specific registered prefix covering the query up to the allocation it was
   * delegated out of; empty when no registered prefix covers it. */
  chain: NamedRoute[];
  services: ServiceOffer[];
}

export interface LookupContracts {
  registry: PrefixRegistry;
  directory: ServiceDirectory;
  runner: ContractRunner;
}

/** "198.51.100.7" or "198.51.100.0/25" (or IPv6); one sentence when it is neither. */
export function parseQuery(text: string): { kind: "address" | "prefix"; prefix: Prefix } {
  if (text.includes("/")) return { kind: "prefix", prefix: parsePrefix(text) };
  return { kind: "address", prefix: { network: parseAddress(text), length: 128 } };
}

export async function lookupRegistry(text: string, contracts: LookupContracts): Promise<LookupResult> {
  const { kind, prefix } = parseQuery(text);
  const registry = new RegistryClient(contracts.registry);
  const named = async (route: RouteInfo): Promise<NamedRoute> => ({
    ...route,
    holderName: (await registry.participant(route.holder)).name,
  });
  const first = kind === "address" ? await registry.lookup(prefix.network) : await registry.coveringPrefix(prefix);
  const routes: RouteInfo[] = [];
  // A delegated prefix lies inside the prefix it was delegated from: the one covering it, one bit up.
  for (let route = first; route !== null;) {
    routes.push(route);
    const { network, length } = parsePrefix(route.prefix);
    route = route.delegated && length > 0 ? await registry.coveringPrefix({ network, length: length - 1 }) : null;
  }
  const [chain, services] = await Promise.all([
    Promise.all(routes.map(named)),
    routes.length === 0 ? [] : servicesFor(routes[0].originAsn, contracts, registry),
  ]);
  const query = kind === "address" ? formatAddress(prefix.network) : formatPrefix(prefix);
  return { query, kind, chain, services };
}

async function servicesFor(asn: number, contracts: LookupContracts, registry: RegistryClient): Promise<ServiceOffer[]> {
  const services = await explained(() => contracts.directory.servicesForAsn(asn));
  return Promise.all(
    services.map(async (service) => {
      const provider = await explained(() => contracts.directory.providerOf(service));
      const [participant, offerings] = await Promise.all([
        registry.participant(provider),
        readOfferings(ProviderServiceContract__factory.connect(service, contracts.runner)),
      ]);
      return { service, provider, providerName: participant.name, offerings };
    }),
  );
}
