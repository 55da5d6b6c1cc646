/**
 * Every custom error of every contract, decoded into one sentence an operator can act on.
 */
import { ErrorDescription, Interface, formatUnits, id, isHexString, type InterfaceAbi } from "ethers";

import {
  MitigationToken__factory,
  PrefixRegistry__factory,
  ProviderServiceContract__factory,
  ServiceDirectory__factory,
} from "../typechain-types";
import { describePrefix, describeRequestId, formatAsn } from "./format";

/** The error an operator sees: `message` is one sentence with the values that explain it. */
export class OperatorError extends Error {
  constructor(
    message: string,
    /** The custom error's name when it came from a contract. */
    readonly errorName?: string,
  ) {
    super(message);
    this.name = "OperatorError";
  }
}

function mergedInterface(abis: InterfaceAbi[]): Interface {
  const seen = new Set<string>();
  const fragments: string[] = [];
  for (const abi of abis) {
    for (const fragment of new Interface(abi).fragments) {
      if (fragment.type !== "error") continue;
      const text = fragment.format("full");
      if (!seen.has(text)) {
        seen.add(text);
        fragments.push(text);
      }
    }
  }
  return new Interface(fragments);
}

let errors: Interface | undefined;

/**
 * Every contract's errors in one interface, built on the first revert to decode rather than at
 * start-up: parsing the ABIs takes a while, and the dashboard's first view would wait for it.
 */
function errorInterface(): Interface {
  errors ??= mergedInterface([
    PrefixRegistry__factory.abi,
    MitigationToken__factory.abi,
    ServiceDirectory__factory.abi,
    ProviderServiceContract__factory.abi,
  ]);
  return errors;
}

const ROLE_NAMES = new Map<string, string>([
  ["0x" + "0".repeat(64), "admin"],
  [id("REGISTRAR_ROLE"), "registrar"],
  [id("MINTER_ROLE"), "minter"],
]);

const REQUEST_STATUS = ["unknown", "pending", "acknowledged", "rejected", "reclaimed", "withdrawn", "cancelled"];

const tokens = (value: unknown) => `${formatUnits(value as bigint, 18)} MIT`;
const prefix = (network: unknown, length: unknown) => describePrefix(network as bigint, length as bigint);
const asn = (value: unknown) => formatAsn(value as bigint);
const request = (id: unknown) => describeRequestId(id as bigint);
const when = (seconds: unknown) => new Date(Number(seconds) * 1000).toISOString();
const holderText = (holder: unknown) =>
  holder === "0x0000000000000000000000000000000000000000" ? "no one holds it" : `its holder is ${String(holder)}`;

type Explain = (a: ErrorDescription["args"]) => string;

/** One sentence per error, keyed by name. */
const SENTENCES: Record<string, Explain> = {
  // PrefixRegistry
  PrefixRegistryInvalidLength: (a) => `Prefix length /${a[0]} is longer than 128 bits.`,
  PrefixRegistryHostBitsSet: (a) =>
    `${prefix(a[0], a[1])} is not a canonical prefix: it has host bits set beyond its length.`,
  PrefixRegistryReservedAsn: (a) =>
    `${asn(a[0])} is reserved and cannot be held (0, 23456, 65535 and 4294967295 are refused).`,
  PrefixRegistryZeroAddress: () => "The zero address cannot be a participant or holder.",
  PrefixRegistryEmptyName: (a) => `${a[0]} needs an organisation name to be registered.`,
  PrefixRegistryAlreadyRegistered: (a) => `${a[0]} is already a registered participant.`,
  PrefixRegistryNotParticipant: (a) => `${a[0]} is not a registered participant.`,
  PrefixRegistryParticipantSuspended: (a) => `${a[0]} is suspended.`,
  PrefixRegistryParticipantNotSuspended: (a) => `${a[0]} is not suspended.`,
  PrefixRegistryAsnAlreadyAssigned: (a) => `${asn(a[0])} is already assigned to ${a[1]}.`,
  PrefixRegistryAsnNotAssigned: (a) => `${asn(a[0])} is not assigned to anyone.`,
  PrefixRegistryPrefixAlreadyRegistered: (a) => `${prefix(a[0], a[1])} is already registered to ${a[2]}.`,
  PrefixRegistryPrefixNotRegistered: (a) => `${prefix(a[0], a[1])} is not registered.`,
  PrefixRegistryNotHolder: (a) => `${a[0]} does not hold ${prefix(a[1], a[2])}: ${holderText(a[3])}.`,
  PrefixRegistryNotRevoker: (a) =>
    `${a[0]} may not revoke ${prefix(a[1], a[2])}: only a registrar, or the holder of the prefix it was delegated from, may.`,
  PrefixRegistryEmptyBatch: () => "The batch is empty.",
  PrefixRegistryMinOrderSaltNotRaised: (a) =>
    `${a[0]}'s orders below salt ${a[1]} are already void: a new minimum must be higher, not ${a[2]}.`,
  // MitigationToken
  MitigationTokenZeroAddress: (a) =>
    `The token's ${ROLE_NAMES.get(String(a[0])) ?? String(a[0])} cannot be the zero address: name an account.`,
  // AccessControl
  AccessControlUnauthorizedAccount: (a) =>
    `${a[0]} lacks the ${ROLE_NAMES.get(String(a[1])) ?? String(a[1])} role needed for this.`,
  AccessControlBadConfirmation: () => "An account may only renounce its own roles.",
  // ERC-20 and permit
  ERC20InsufficientBalance: (a) => `${a[0]} has ${tokens(a[1])} but ${tokens(a[2])} is needed.`,
  ERC20InsufficientAllowance: (a) =>
    `${a[0]} is allowed to spend ${tokens(a[1])} but ${tokens(a[2])} is needed: approve more first.`,
  ERC20InvalidSender: (a) => `${a[0]} cannot send tokens.`,
  ERC20InvalidReceiver: (a) => `${a[0]} cannot receive tokens.`,
  ERC20InvalidApprover: (a) => `${a[0]} cannot approve.`,
  ERC20InvalidSpender: (a) => `${a[0]} cannot be approved as a spender.`,
  ERC2612ExpiredSignature: (a) => `The permit expired at ${when(a[0])}.`,
  ERC2612InvalidSigner: (a) => `The permit was signed by ${a[0]}, not by the owner ${a[1]} (or it was already used).`,
  InvalidAccountNonce: (a) => `Nonce mismatch for ${a[0]}: the current nonce is ${a[1]}.`,
  SafeERC20FailedOperation: (a) => `The token ${a[0]} refused a transfer.`,
  ReentrancyGuardReentrantCall: () => "Re-entrant call refused.",
  FailedDeployment: () => "Creating the service contract failed.",
  // ServiceDirectory
  ServiceDirectoryInactiveParticipant: (a) => `${a[0]} is not an active registered participant.`,
  ServiceDirectoryServiceExists: (a) => `${a[0]} already has a service contract at ${a[1]}.`,
  ServiceDirectoryNoService: (a) => `${a[0]} has no service contract: create one first.`,
  ServiceDirectoryAsnNotHeld: (a) =>
    `${a[1]} may not cover ${asn(a[0])}: ${a[2] === "0x0000000000000000000000000000000000000000" ? "it is not assigned to anyone" : `it is held by ${a[2]}, who has not authorised it`}.`,
  ServiceDirectoryAlreadyCovered: (a) => `The service ${a[1]} already covers ${asn(a[0])}.`,
  ServiceDirectoryNotCovered: (a) => `The service ${a[1]} does not cover ${asn(a[0])}.`,
  ServiceDirectoryCoverageValid: (a) => `The service ${a[1]} still validly covers ${asn(a[0])}: nothing to prune.`,
  ServiceDirectoryUnknownService: (a) => `${a[0]} is not a service contract of this directory.`,
  ServiceDirectoryEmptyBatch: () => "The batch is empty.",
  // ProviderServiceContract
  ProviderServiceAlreadyInitialized: () => "The service contract is already initialised.",
  ProviderServiceNotProvider: (a) => `${a[0]} is not the provider of this service.`,
  ProviderServiceNotDirectory: (a) => `${a[0]} is not the service directory.`,
  ProviderServiceNotRequester: (a) => `${a[1]} did not make request ${request(a[0])}.`,
  ProviderServiceInactiveParticipant: (a) => `${a[0]} is not an active registered participant.`,
  ProviderServiceNotHolder: (a) => `${a[0]} does not hold ${prefix(a[1], a[2])}: ${holderText(a[3])}.`,
  ProviderServiceTargetNotWhollyHeld: (a) =>
    `${a[0]} holds the prefix covering ${prefix(a[1], a[2])}, but a more-specific prefix inside it is held by someone else: request the parts you hold instead.`,
  ProviderServiceRequesterIsProvider: (a) =>
    `${a[0]} is the provider of this service: a provider cannot buy mitigation from itself.`,
  ProviderServiceInvalidPrefix: (a) =>
    `${(a[0] as bigint) === 2n ** 256n - 1n ? "The target" : `Source #${a[0]}`} ${prefix(a[1], a[2])} is not a canonical prefix.`,
  ProviderServiceInvalidSourceCount: (a) => `A request lists 1 to ${a[1]} attack sources, not ${a[0]}.`,
  ProviderServiceUnknownOffering: (a) => `Offering ${a[0]} does not exist.`,
  ProviderServiceOfferingInactive: (a) => `Offering ${a[0]} is not active.`,
  ProviderServiceInvalidOffering: (a) =>
    `An offering needs a maximum duration and a capacity above zero (got ${a[0]} s and ${a[1]}).`,
  ProviderServiceInvalidDuration: (a) => `A duration of ${a[0]} s is not allowed: it must be 1 to ${a[1]} s.`,
  ProviderServicePriceAboveMaximum: (a) => `The price is ${tokens(a[0])}, above your maximum of ${tokens(a[1])}.`,
  ProviderServiceInvalidDeadline: (a) =>
    `The acknowledgement deadline ${when(a[0])} must lie between ${when(a[1])} and ${when(a[2])}.`,
  ProviderServiceUnknownRequest: (a) => `Request ${request(a[0])} does not exist.`,
  ProviderServiceWrongStatus: (a) =>
    `Request ${request(a[0])} is ${REQUEST_STATUS[Number(a[1] as bigint)] ?? String(a[1])}, so this cannot be done.`,
  ProviderServiceDeadlinePassed: (a) =>
    `Request ${request(a[0])} can no longer be acknowledged: its deadline was ${when(a[1])}.`,
  ProviderServiceDeadlineNotPassed: (a) =>
    `Request ${request(a[0])} cannot be reclaimed before its deadline ${when(a[1])} has passed.`,
  ProviderServiceMitigationEnded: (a) => `The mitigation of request ${request(a[0])} already ended at ${when(a[1])}.`,
  ProviderServiceInvalidCode: (a) => `Code ${a[0]} is out of range for this report.`,
  ProviderServiceAlreadyRated: (a) => `Request ${request(a[0])} has already been rated.`,
  ProviderServiceEmptyBatch: () => "The batch is empty.",
  ProviderServiceSignatureCountMismatch: (a) => `A batch of ${a[0]} orders needs ${a[0]} signatures, not ${a[1]}.`,
  ProviderServiceWrongService: (a) => `The order is for the service ${a[0]}, not this one.`,
  ProviderServiceEndpointTooLong: (a) => `An order endpoint may be ${a[1]} bytes long at most, not ${a[0]}.`,
};

/** The custom error in revert data, if it is one of ours. */
export function decodeErrorData(data: string): ErrorDescription | null {
  if (!isHexString(data) || data.length < 10) return null;
  try {
    return errorInterface().parseError(data);
  } catch {
    return null;
  }
}

/** One sentence for a decoded custom error. */
export function explainError(error: ErrorDescription): string {
  const explain = SENTENCES[error.name];
  if (explain) return explain(error.args);
  return `The contract refused: ${error.name}(${error.args.map(String).join(", ")}).`;
}

/** Finds revert data anywhere in an ethers / Hardhat / JSON-RPC error. */
export function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === null || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    const record = current as Record<string, unknown>;
    const data = record.data;
    if (typeof data === "string" && isHexString(data) && data.length >= 10) return data;
    for (const key of ["error", "info", "cause", "data", "revert"]) queue.push(record[key]);
  }
  const text = error instanceof Error ? error.message : String(error);
  const match = /(?:reverted with custom error|return data:|data=")[^0]*?(0x[0-9a-fA-F]{8,})/.exec(text);
  return match?.[1];
}

/**
 * Turns any error into an OperatorError with one sentence: our custom errors by their sentence,
 * Hardhat's "unrecognized custom error" by decoding its data, anything else by its short message.
 */
export function toOperatorError(error: unknown): OperatorError {
  if (error instanceof OperatorError) return error;
  const data = revertData(error);
  if (data) {
    const decoded = decodeErrorData(data);
    if (decoded) return new OperatorError(explainError(decoded), decoded.name);
  }
  const message = error instanceof Error ? error.message : String(error);
  const named = /reverted with custom error '(\w+)\(/.exec(message);
  if (named) return new OperatorError(`The contract refused: ${named[1]}.`, named[1]);
  // A JSON-RPC error ethers has no name for ("could not coalesce error"): the node's own message
  // says more.
  const { code, error: rpc } = error as { code?: unknown; error?: { message?: unknown } };
  if (code === "UNKNOWN_ERROR" && typeof rpc?.message === "string") return new OperatorError(rpc.message);
  const short = (error as { shortMessage?: unknown }).shortMessage;
  return new OperatorError(typeof short === "string" ? short : message.split("\n")[0]);
}

/** Runs `action`, turning a failure into an OperatorError. */
export async function explained<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toOperatorError(error);
  }
}
