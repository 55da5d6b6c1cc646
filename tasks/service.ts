/** `npx hardhat service <task>`: a provider's service contract, its offerings and AS coverage. */
import { scope, types } from "hardhat/config";

import { parseAccount } from "../src/clients/registry";
import { parseAsn } from "../src/asn";
import { formatTokens, parseTokens } from "../src/format";
import {
  parseAsnList,
  parseCapacity,
  parseDuration,
  parseKind,
  parseOfferingId,
  parseOrderEndpoint,
} from "../src/input";
import { parseAddress } from "../src/prefix";
import { operator, operatorAction, operatorTask, txInfo, txText, type CommonArgs, type Outcome } from "./lib";

const service = scope("service", "Provider service contracts: offerings and the ASes they cover");

operatorTask(service, "create", "Creates the caller's service contract (one per provider)").setAction(
  operatorAction(async (args: CommonArgs, hre) => {
    const op = await operator(hre, args.from);
    const address = await op.market.createService();
    return { data: { provider: op.address, service: address }, text: `Created service ${address} for ${op.address}.` };
  }),
);

interface TermsArgs extends CommonArgs {
  pricePerHour: string;
  maxDuration: string;
  capacity: string;
}

function parseTerms(args: TermsArgs) {
  return {
    pricePerHour: parseTokens(args.pricePerHour),
    maxDuration: parseDuration(args.maxDuration, "maximum duration in seconds"),
    capacity: parseCapacity(args.capacity),
  };
}

function termsText(terms: ReturnType<typeof parseTerms>): string {
  return `${formatTokens(terms.pricePerHour)} per hour, up to ${terms.maxDuration} s, capacity ${terms.capacity}`;
}

operatorTask(service, "add-offering", "Adds an offering to the caller's service")
  .addOptionalParam("kind", "flow-filtering, rate-limiting, blackholing or scrubbing", undefined, types.string)
  .addOptionalParam("pricePerHour", "Price in tokens per hour, e.g. 10 or 2.5", undefined, types.string)
  .addOptionalParam("maxDuration", "The longest mitigation sold, in seconds", undefined, types.string)
  .addOptionalParam("capacity", "How many mitigations it runs at once", undefined, types.string)
  .setAction(
    operatorAction(
      ["kind", "pricePerHour", "maxDuration", "capacity"],
      async (args: TermsArgs & { kind: string }, hre) => {
        const kind = parseKind(args.kind);
        const terms = parseTerms(args);
        const op = await operator(hre, args.from);
        const offeringId = await op.market.addOffering({ kind, ...terms });
        const serviceAddress = await op.market.myService();
        return {
          data: { service: serviceAddress, offeringId, kind, ...terms },
          text: `Added offering ${offeringId} to ${serviceAddress}: ${kind}, ${termsText(terms)}.`,
        };
      },
    ),
  );

operatorTask(service, "update-offering", "Changes the price and limits of one of the caller's offerings")
  .addOptionalParam("offering", "The offering id", undefined, types.string)
  .addOptionalParam("pricePerHour", "Price in tokens per hour", undefined, types.string)
  .addOptionalParam("maxDuration", "The longest mitigation sold, in seconds", undefined, types.string)
  .addOptionalParam("capacity", "How many mitigations it runs at once", undefined, types.string)
  .setAction(
    operatorAction(
      ["offering", "pricePerHour", "maxDuration", "capacity"],
      async (args: TermsArgs & { offering: string }, hre) => {
        const offeringId = parseOfferingId(args.offering);
        const terms = parseTerms(args);
        const op = await operator(hre, args.from);
        const serviceAddress = await op.market.myService();
        const count = (await op.market.offerings(serviceAddress)).length;
        if (offeringId >= count) throw new Error(`Offering ${offeringId} does not exist at ${serviceAddress}.`);
        const receipt = await op.market.updateOffering(offeringId, terms);
        return {
          data: { service: serviceAddress, offeringId, ...terms, ...txInfo(receipt) },
          text: `Offering ${offeringId} of ${serviceAddress} is now ${termsText(terms)}${txText(receipt)}.`,
        };
      },
    ),
  );

operatorTask(service, "offerings", "Lists a service's offerings")
  .addOptionalParam("service", "The service contract (default: the caller's own)", undefined, types.string)
  .setAction(
    operatorAction(async (args: CommonArgs & { service?: string }, hre) => {
      if (args.service !== undefined) parseAccount(args.service, "service");
      const op = await operator(hre, args.from);
      const serviceAddress = args.service === undefined ? await op.market.myService() : parseAccount(args.service);
      const offerings = await op.market.offerings(serviceAddress);
      const lines = offerings.map(
        (o) =>
          `  #${o.id} ${o.kind}: ${formatTokens(o.pricePerHour)}/h, up to ${o.maxDuration} s, capacity ${o.capacity}${o.active ? "" : " (inactive)"}`,
      );
      const text =
        offerings.length === 0
          ? `${serviceAddress} has no offerings.`
          : [`${serviceAddress} offers:`, ...lines].join("\n");
      return { data: { service: serviceAddress, offerings }, text };
    }),
  );

operatorTask(service, "cover", "Declares that the caller's service covers ASes it holds or was authorised for")
  .addOptionalParam("asns", "AS numbers separated by commas, e.g. 64500,64501", undefined, types.string)
  .setAction(
    operatorAction(["asns"], async (args: CommonArgs & { asns: string }, hre) => {
      const asns = parseAsnList(args.asns);
      const op = await operator(hre, args.from);
      const serviceAddress = await op.market.myService();
      const receipt = await op.market.addCoverage(asns);
      return {
        data: { service: serviceAddress, asns, ...txInfo(receipt) },
        text: `${serviceAddress} now covers ${asns.map((a) => `AS${a}`).join(", ")}${txText(receipt)}.`,
      };
    }),
  );

operatorTask(service, "set-order-endpoint", "Publishes the URL where the caller's agent takes signed orders")
  .addOptionalParam(
    "url",
    'The agent\'s order intake, e.g. http://203.0.113.1:8546/ ("none": no orders)',
    undefined,
    types.string,
  )
  .setAction(
    operatorAction(["url"], async (args: CommonArgs & { url: string }, hre) => {
      const url = parseOrderEndpoint(args.url);
      const op = await operator(hre, args.from);
      const serviceAddress = await op.market.myService();
      const receipt = await op.market.setOrderEndpoint(url);
      const what = url === "" ? "takes no signed orders" : `takes signed orders at ${url}`;
      return {
        data: { service: serviceAddress, url, ...txInfo(receipt) },
        text: `${serviceAddress} ${what}${txText(receipt)}.`,
      };
    }),
  );

interface FindResult {
  address?: string;
  /** null when no registered prefix contains the address. */
  originAsn: number | null;
  services: string[];
}

operatorTask(service, "find", "Finds the services covering an IP address (through its origin AS) or an AS")
  .addOptionalParam("address", "An IPv4 or IPv6 address", undefined, types.string)
  .addOptionalParam("asn", "An AS number", undefined, types.string)
  .setAction(
    operatorAction(async (args: CommonArgs & { address?: string; asn?: string }, hre): Promise<Outcome<FindResult>> => {
      if ((args.address === undefined) === (args.asn === undefined)) {
        throw new Error("Give exactly one of --address or --asn.");
      }
      if (args.address !== undefined) parseAddress(args.address);
      const asnArg = args.asn === undefined ? undefined : parseAsn(args.asn);
      const op = await operator(hre, args.from);
      let originAsn: number;
      let services: string[];
      if (asnArg !== undefined) {
        originAsn = asnArg;
        services = await op.market.servicesForAsn(asnArg);
      } else {
        ({ originAsn, services } = await op.market.servicesForAddress(args.address!));
        if (originAsn === 0) {
          return {
            data: { address: args.address!.trim(), originAsn: null, services: [] },
            text: `No registered prefix contains ${args.address!.trim()}.`,
          };
        }
      }
      const subject = args.address === undefined ? `AS${originAsn}` : `${args.address.trim()} (AS${originAsn})`;
      const text =
        services.length === 0
          ? `No service covers ${subject}.`
          : [`Services covering ${subject}:`, ...services.map((s) => `  ${s}`)].join("\n");
      return { data: { address: args.address?.trim(), originAsn, services }, text };
    }),
  );
