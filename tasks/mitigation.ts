/** `npx hardhat mitigation <task>`: the request life cycle, for victims and providers. */
import { scope, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import { parseAccount } from "../src/clients/registry";
import { OperatorError } from "../src/errors";
import {
  describeRequestId,
  formatRequestId,
  formatTokens,
  parseRequestRef,
  parseTokens,
  requesterOf,
  resolveRequestId,
  type RequestRef,
} from "../src/format";
import {
  parseAckWindow,
  parseCounter,
  parseDotsStatus,
  parseDuration,
  parseList,
  parseOfferingId,
  parseRating,
  parseRejectReason,
} from "../src/input";
import { requestFromReport, requestMitigation } from "../src/victim/purchase";
import type { RequestInfo, RequestedEvent } from "../src/clients/market";
import { formatPrefix, parsePrefix } from "../src/prefix";
import { readAttackReport } from "../src/victim/attackReport";
import { operator, operatorAction, operatorTask, txInfo, txText, type CommonArgs, type Operator } from "./lib";

const mitigation = scope("mitigation", "Mitigation requests: buy, acknowledge, reject, reclaim, report, rate");

interface RequestArgs extends CommonArgs {
  report?: string;
  service?: string;
  offering?: string;
  target?: string;
  sources?: string;
  duration?: string;
  maxPrice?: string;
  ackWindow: string;
}

async function chainNow(hre: HardhatRuntimeEnvironment): Promise<number> {
  const block = await hre.ethers.provider.getBlock("latest");
  if (block === null) throw new Error("The node returned no latest block.");
  return block.timestamp;
}

/** A request event with its prefixes as CIDR text and its id as the logs print it. */
function describeEvent(e: RequestedEvent) {
  return {
    ...e,
    shortId: formatRequestId(e.requestId),
    target: formatPrefix(e.target),
    sources: e.sources.map((p) => formatPrefix(p)),
  };
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined) throw new Error(`${flag} is required unless you give --report.`);
  return value;
}

operatorTask(mitigation, "request", "Buys mitigation from one service, or from every service an attack report needs")
  .addOptionalParam(
    "report",
    "A DOTS-style attack report (JSON): target, lifetime, topTalkers",
    undefined,
    types.string,
  )
  .addOptionalParam("service", "The service contract", undefined, types.string)
  .addOptionalParam("offering", "The offering id", undefined, types.string)
  .addOptionalParam("target", "The attacked prefix, which you hold", undefined, types.string)
  .addOptionalParam("sources", "Attack source prefixes or addresses, separated by commas", undefined, types.string)
  .addOptionalParam("duration", "Seconds of mitigation", undefined, types.string)
  .addOptionalParam("maxPrice", "The most to pay, in tokens (with --report: per provider)", undefined, types.string)
  .addOptionalParam("ackWindow", "Seconds the provider has to acknowledge (at most 86400)", "600", types.string)
  .setAction(
    operatorAction(async (args: RequestArgs, hre) => {
      const ackWindow = parseAckWindow(args.ackWindow);
      if (args.report !== undefined) {
        const single = [args.service, args.offering, args.target, args.sources, args.duration];
        if (single.some((v) => v !== undefined)) {
          throw new Error("Give either --report or --service/--offering/--target/--sources/--duration, not both.");
        }
        const report = readAttackReport(args.report);
        const maxPricePerOrder = args.maxPrice === undefined ? undefined : parseTokens(args.maxPrice);
        const op = await operator(hre, args.from);
        const now = await chainNow(hre);
        const bought = await requestFromReport(op, report, { ackWindow, now, maxPricePerOrder });
        const lines = bought.events.map(
          (e) =>
            `  request ${describeRequestId(e.requestId)} at ${e.service}: ${e.sources.length} source(s), ${formatTokens(e.price)} escrowed`,
        );
        const skipped = bought.unserved.map((u) => `  not served: ${u.source}: ${u.reason}`);
        return {
          data: { requests: bought.events.map(describeEvent), unserved: bought.unserved },
          text: [
            `Requested mitigation of ${report.target} from ${bought.events.length} service(s):`,
            ...lines,
            ...skipped,
          ].join("\n"),
        };
      }
      const service = parseAccount(required(args.service, "--service"), "service");
      const offeringId = parseOfferingId(required(args.offering, "--offering"));
      const target = parsePrefix(required(args.target, "--target"));
      const sources = parseList(required(args.sources, "--sources"), "attack source").map((s) =>
        parsePrefix(s, { allowAddress: true }),
      );
      const duration = parseDuration(required(args.duration, "--duration"));
      const maxPrice = parseTokens(required(args.maxPrice, "--max-price"));
      const op = await operator(hre, args.from);
      const ackDeadline = (await chainNow(hre)) + ackWindow;
      const event = await requestMitigation(op, {
        service,
        offeringId,
        target,
        sources,
        duration,
        maxPrice,
        ackDeadline,
      });
      return {
        data: { requests: [describeEvent(event)], unserved: [] },
        text: `Requested mitigation of ${formatPrefix(target)} from ${service}: request ${describeRequestId(event.requestId)}, ${formatTokens(event.price)} escrowed until ${new Date(event.ackDeadline * 1000).toISOString()} (tx ${event.transactionHash}, block ${event.blockNumber}).`,
      };
    }),
  );

interface RefArgs extends CommonArgs {
  service: string;
  id: string;
  requester?: string;
}

function requestTask(name: string, description: string) {
  return operatorTask(mitigation, name, description)
    .addOptionalParam("service", "The service contract", undefined, types.string)
    .addOptionalParam("id", "The request: #n or n as the agents log it, or the full id", undefined, types.string)
    .addOptionalParam(
      "requester",
      "Who made the request, for an --id of the form #n (default: the --from account)",
      undefined,
      types.string,
    );
}

/** --service, --id and --requester, read before anything touches the chain. */
interface ParsedRef {
  service: string;
  ref: RequestRef;
  requester?: string;
}

function parseRef(args: RefArgs): ParsedRef {
  return {
    service: parseAccount(args.service, "service"),
    ref: parseRequestRef(args.id),
    requester: args.requester === undefined ? undefined : parseAccount(args.requester, "requester"),
  };
}

/** The request named, its requester defaulting to the --from account; one sentence if there is none. */
async function findRequest(
  { service, ref, requester }: ParsedRef,
  op: Operator,
): Promise<{ service: string; requestId: bigint; request: RequestInfo }> {
  const requestId = resolveRequestId(ref, requester ?? op.address);
  if ("id" in ref && requester !== undefined && requesterOf(requestId) !== requester) {
    throw new OperatorError(
      `Request id ${requestId} was made by ${requesterOf(requestId)}, not by the --requester ${requester}.`,
    );
  }
  const request = await op.market.getRequest(service, requestId).catch((error: unknown) => {
    if (error instanceof OperatorError && error.errorName === "ProviderServiceUnknownRequest") return undefined;
    throw error;
  });
  if (request === undefined || request.status === "none") {
    const hint =
      "id" in ref
        ? ""
        : requester === undefined
          ? ": the id includes the requester, which --requester gives (by default the --from account)"
          : ": check the number and --requester";
    throw new OperatorError(
      `Request ${formatRequestId(requestId)} by ${requesterOf(requestId)} (id ${requestId}) does not exist at ${service}${hint}.`,
    );
  }
  return { service, requestId, request };
}

requestTask("status", "Shows a request").setAction(
  operatorAction(["service", "id"], async (args: RefArgs, hre) => {
    const ref = parseRef(args);
    const op = await operator(hre, args.from);
    const { service, requestId, request: r } = await findRequest(ref, op);
    const when = (t: number) => new Date(t * 1000).toISOString();
    const running = r.startedAt > 0 ? `, runs ${when(r.startedAt)} to ${when(r.endsAt)}` : "";
    const pending = r.status === "pending" ? `, to be acknowledged by ${when(r.ackDeadline)}` : "";
    const rating = r.rating > 0 ? `, rated ${r.rating}/5` : "";
    return {
      data: { ...r, shortId: formatRequestId(requestId) },
      text: `Request ${describeRequestId(requestId)} at ${service} is ${r.status}: ${formatTokens(r.price)} for ${r.duration} s of offering ${r.offeringId}, by ${r.requester}${pending}${running}${rating}.`,
    };
  }),
);

for (const [name, description, verb] of [
  ["acknowledge", "Acknowledges a request and is paid (provider)", "Acknowledged"],
  ["reclaim", "Takes back the escrow of a request not acknowledged in time (requester)", "Reclaimed"],
  ["withdraw", "Ends a running mitigation early, refunding nothing (requester)", "Withdrew"],
] as const) {
  requestTask(name, description).setAction(
    operatorAction(["service", "id"], async (args: RefArgs, hre) => {
      const ref = parseRef(args);
      const op = await operator(hre, args.from);
      const { service, requestId } = await findRequest(ref, op);
      const receipt =
        name === "acknowledge"
          ? await op.market.acknowledge(service, requestId)
          : name === "reclaim"
            ? await op.market.reclaim(service, requestId)
            : await op.market.withdraw(service, requestId);
      const r = await op.market.getRequest(service, requestId);
      return {
        data: { service, requestId, shortId: formatRequestId(requestId), status: r.status, ...txInfo(receipt) },
        text: `${verb} request ${describeRequestId(requestId)} at ${service}; it is now ${r.status}${txText(receipt)}.`,
      };
    }),
  );
}

requestTask("reject", "Rejects a request and refunds the requester (provider)")
  .addOptionalParam(
    "reason",
    "unspecified, capacity, policy, notVerified, sourcesNotInNetwork or a code",
    "0",
    types.string,
  )
  .setAction(
    operatorAction(["service", "id"], async (args: RefArgs & { reason: string }, hre) => {
      const ref = parseRef(args);
      const reason = parseRejectReason(args.reason);
      const op = await operator(hre, args.from);
      const { service, requestId } = await findRequest(ref, op);
      const receipt = await op.market.reject(service, requestId, reason);
      return {
        data: { service, requestId, shortId: formatRequestId(requestId), reason, ...txInfo(receipt) },
        text: `Rejected request ${describeRequestId(requestId)} at ${service} (reason ${reason}); the escrow went back to the requester${txText(receipt)}.`,
      };
    }),
  );

requestTask("report-status", "Reports a mitigation's DOTS status and efficacy (provider)")
  .addOptionalParam(
    "status",
    "inProgress, successfullyMitigated, attackStopped, … or 1 to 8 (RFC 9132)",
    undefined,
    types.string,
  )
  .addOptionalParam("bytesDropped", "Attack bytes dropped so far", "0", types.string)
  .addOptionalParam("packetsDropped", "Attack packets dropped so far", "0", types.string)
  .setAction(
    operatorAction(
      ["service", "id", "status"],
      async (args: RefArgs & { status: string; bytesDropped: string; packetsDropped: string }, hre) => {
        const ref = parseRef(args);
        const status = parseDotsStatus(args.status);
        const bytes = parseCounter(args.bytesDropped, "count of bytes dropped");
        const packets = parseCounter(args.packetsDropped, "count of packets dropped");
        const op = await operator(hre, args.from);
        const { service, requestId } = await findRequest(ref, op);
        const receipt = await op.market.reportStatus(service, requestId, status, bytes, packets);
        return {
          data: {
            service,
            requestId,
            shortId: formatRequestId(requestId),
            status,
            bytesDropped: bytes,
            packetsDropped: packets,
            ...txInfo(receipt),
          },
          text: `Reported status ${status} for request ${describeRequestId(requestId)} at ${service}${txText(receipt)}.`,
        };
      },
    ),
  );

requestTask("rate", "Rates a mitigation from 1 to 5 (requester)")
  .addOptionalParam("rating", "1 (poor) to 5 (excellent)", undefined, types.string)
  .setAction(
    operatorAction(["service", "id", "rating"], async (args: RefArgs & { rating: string }, hre) => {
      const ref = parseRef(args);
      const rating = parseRating(args.rating);
      const op = await operator(hre, args.from);
      const { service, requestId } = await findRequest(ref, op);
      const receipt = await op.market.rate(service, requestId, rating);
      return {
        data: { service, requestId, shortId: formatRequestId(requestId), rating, ...txInfo(receipt) },
        text: `Rated request ${describeRequestId(requestId)} at ${service} ${rating}/5${txText(receipt)}.`,
      };
    }),
  );
