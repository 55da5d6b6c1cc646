/** `npx hardhat registry <task>`: participants, AS numbers and prefixes. */
import { scope, types } from "hardhat/config";

import { parseAccount } from "../src/clients/registry";
import { parseAsn } from "../src/asn";
import { formatPrefix, parseAddress, parsePrefix } from "../src/prefix";
import { operator, operatorAction, operatorTask, txInfo, txText, type CommonArgs } from "./lib";

const registry = scope("registry", "The prefix registry: participants, AS numbers and IP prefixes");

interface AccountArgs extends CommonArgs {
  account: string;
}

operatorTask(registry, "register-participant", "Registers an organisation as a participant (registrar only)")
  .addOptionalParam("account", "The participant's address", undefined, types.string)
  .addOptionalParam("name", "The organisation's name", undefined, types.string)
  .addOptionalParam("metadataUri", "A URI with more about the organisation", "", types.string)
  .setAction(
    operatorAction(["account", "name"], async (args: AccountArgs & { name: string; metadataUri: string }, hre) => {
      const account = parseAccount(args.account);
      if (args.name.trim() === "") throw new Error(`An organisation name is required to register ${account}.`);
      const op = await operator(hre, args.from);
      const receipt = await op.registry.registerParticipant(account, args.name, args.metadataUri);
      return {
        data: { account, name: args.name, metadataUri: args.metadataUri, ...txInfo(receipt) },
        text: `Registered ${account} as "${args.name}"${txText(receipt)}.`,
      };
    }),
  );

operatorTask(registry, "participant", "Shows a participant's status and name")
  .addOptionalParam("account", "The participant's address", undefined, types.string)
  .setAction(
    operatorAction(["account"], async (args: AccountArgs, hre) => {
      const account = parseAccount(args.account);
      const op = await operator(hre, args.from);
      const info = await op.registry.participant(account);
      const text =
        info.status === "none"
          ? `${account} is not a registered participant.`
          : `${account} is "${info.name}", ${info.status}${info.metadataURI ? `, ${info.metadataURI}` : ""}.`;
      return { data: { account, ...info }, text };
    }),
  );

for (const [name, description, suspend] of [
  ["suspend", "Suspends a participant (registrar only)", true],
  ["reinstate", "Reinstates a suspended participant (registrar only)", false],
] as const) {
  operatorTask(registry, name, description)
    .addOptionalParam("account", "The participant's address", undefined, types.string)
    .setAction(
      operatorAction(["account"], async (args: AccountArgs, hre) => {
        const account = parseAccount(args.account);
        const op = await operator(hre, args.from);
        const receipt = suspend
          ? await op.registry.suspendParticipant(account)
          : await op.registry.reinstateParticipant(account);
        return {
          data: { account, status: suspend ? "suspended" : "active", ...txInfo(receipt) },
          text: `${suspend ? "Suspended" : "Reinstated"} ${account}${txText(receipt)}.`,
        };
      }),
    );
}

operatorTask(registry, "assign-asn", "Assigns an AS number to a participant (registrar only)")
  .addOptionalParam("asn", "The AS number, e.g. 64500 or AS64500", undefined, types.string)
  .addOptionalParam("holder", "The participant that receives it", undefined, types.string)
  .setAction(
    operatorAction(["asn", "holder"], async (args: CommonArgs & { asn: string; holder: string }, hre) => {
      const asn = parseAsn(args.asn);
      const holder = parseAccount(args.holder, "holder");
      const op = await operator(hre, args.from);
      const receipt = await op.registry.assignAsn(asn, holder);
      return { data: { asn, holder, ...txInfo(receipt) }, text: `Assigned AS${asn} to ${holder}${txText(receipt)}.` };
    }),
  );

interface PrefixArgs extends CommonArgs {
  prefix: string;
}

operatorTask(registry, "allocate", "Allocates a prefix to a participant with its origin AS (registrar only)")
  .addOptionalParam("prefix", "The prefix in CIDR notation, e.g. 198.51.100.0/24", undefined, types.string)
  .addOptionalParam("holder", "The participant that receives it", undefined, types.string)
  .addOptionalParam("originAsn", "The AS that originates it", undefined, types.string)
  .setAction(
    operatorAction(
      ["prefix", "holder", "originAsn"],
      async (args: PrefixArgs & { holder: string; originAsn: string }, hre) => {
        const prefix = formatPrefix(parsePrefix(args.prefix));
        const holder = parseAccount(args.holder, "holder");
        const originAsn = parseAsn(args.originAsn);
        const op = await operator(hre, args.from);
        const receipt = await op.registry.allocate(prefix, holder, originAsn);
        return {
          data: { prefix, holder, originAsn, ...txInfo(receipt) },
          text: `Allocated ${prefix} (origin AS${originAsn}) to ${holder}${txText(receipt)}.`,
        };
      },
    ),
  );

operatorTask(registry, "delegate", "Delegates a more-specific prefix of one you hold to another participant")
  .addOptionalParam("prefix", "The more-specific prefix in CIDR notation", undefined, types.string)
  .addOptionalParam("to", "The participant that receives it", undefined, types.string)
  .addOptionalParam("originAsn", "The AS that originates it", undefined, types.string)
  .setAction(
    operatorAction(["prefix", "to", "originAsn"], async (args: PrefixArgs & { to: string; originAsn: string }, hre) => {
      const prefix = formatPrefix(parsePrefix(args.prefix));
      const to = parseAccount(args.to, "delegatee");
      const originAsn = parseAsn(args.originAsn);
      const op = await operator(hre, args.from);
      const receipt = await op.registry.delegate(prefix, to, originAsn);
      return {
        data: { prefix, to, originAsn, ...txInfo(receipt) },
        text: `Delegated ${prefix} (origin AS${originAsn}) to ${to}${txText(receipt)}.`,
      };
    }),
  );

operatorTask(registry, "revoke", "Revokes a prefix (a registrar, or the holder it was delegated from)")
  .addOptionalParam("prefix", "The prefix in CIDR notation", undefined, types.string)
  .setAction(
    operatorAction(["prefix"], async (args: PrefixArgs, hre) => {
      const prefix = formatPrefix(parsePrefix(args.prefix));
      const op = await operator(hre, args.from);
      const receipt = await op.registry.revoke(prefix);
      return { data: { prefix, ...txInfo(receipt) }, text: `Revoked ${prefix}${txText(receipt)}.` };
    }),
  );

operatorTask(registry, "set-origin", "Changes the origin AS of a prefix you hold")
  .addOptionalParam("prefix", "The prefix in CIDR notation", undefined, types.string)
  .addOptionalParam("originAsn", "The new origin AS", undefined, types.string)
  .setAction(
    operatorAction(["prefix", "originAsn"], async (args: PrefixArgs & { originAsn: string }, hre) => {
      const prefix = formatPrefix(parsePrefix(args.prefix));
      const originAsn = parseAsn(args.originAsn);
      const op = await operator(hre, args.from);
      const receipt = await op.registry.setOrigin(prefix, originAsn);
      return {
        data: { prefix, originAsn, ...txInfo(receipt) },
        text: `${prefix} is now originated by AS${originAsn}${txText(receipt)}.`,
      };
    }),
  );

operatorTask(registry, "lookup", "Longest-prefix match of an IP address")
  .addOptionalParam("address", "An IPv4 or IPv6 address", undefined, types.string)
  .setAction(
    operatorAction(["address"], async (args: CommonArgs & { address: string }, hre) => {
      parseAddress(args.address);
      const op = await operator(hre, args.from);
      const route = await op.registry.lookup(args.address);
      const text =
        route === null
          ? `No registered prefix contains ${args.address.trim()}.`
          : `${args.address.trim()} is in ${route.prefix}, origin AS${route.originAsn}, held by ${route.holder}${route.delegated ? " (delegated)" : ""}.`;
      return { data: { address: args.address.trim(), route }, text };
    }),
  );

operatorTask(registry, "holder", "Who holds a prefix: the holder of the most specific registered prefix covering it")
  .addOptionalParam("prefix", "The prefix in CIDR notation", undefined, types.string)
  .setAction(
    operatorAction(["prefix"], async (args: PrefixArgs, hre) => {
      const prefix = formatPrefix(parsePrefix(args.prefix));
      const op = await operator(hre, args.from);
      const route = await op.registry.coveringPrefix(prefix);
      const text =
        route === null
          ? `No registered prefix covers ${prefix}.`
          : `${prefix} is held by ${route.holder} through ${route.prefix}, origin AS${route.originAsn}${route.delegated ? " (delegated)" : ""}.`;
      return { data: { prefix, route }, text };
    }),
  );
