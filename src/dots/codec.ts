/**
 * The DOTS signal channel's messages: CBOR with the IANA integer keys (application/dots+cbor,
 * RFC 9132 §6) ⇄ objects named as in the RFC's JSON mapping, and the mitigation request read into
 * the gateway's terms. Every refusal is a DotsCodecError whose message is one sentence; the signal
 * channel answers it with 4.00 (Bad Request).
 */
import { Decoder, Encoder, Tag } from "cbor-x";

import { parsePrefix, type Prefix } from "../prefix";
import { DOTS_KEYS, DOTS_NAMES, isComprehensionOptional, MITIGATION_STATUS_NAMES } from "./keys";

/** application/dots+cbor (RFC 9132 §10.3). */
export const DOTS_CBOR_FORMAT = 271;

export class DotsCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DotsCodecError";
  }
}

/** A message with its parameters named as in the JSON mapping. */
export type DotsObject = { [name: string]: DotsValue };
export type DotsValue = string | number | bigint | boolean | null | DotsValue[] | DotsObject;

// Maps stay Maps (integer keys) and no cbor-x record extension is ever written.
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, variableMapSize: true });

/** The CBOR decimal fraction (tag 4) of the "-decimal" parameters, e.g. 2.00 as [-2, 200]. */
const DECIMAL_EXPONENT = -2;

/** Decodes a DOTS CBOR body; unknown comprehension-optional keys are dropped, others refused. */
export function decodeDots(bytes: Uint8Array): DotsObject {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch {
    throw new DotsCodecError("The body is not valid CBOR.");
  }
  const named = fromKeys(value, "the body");
  if (named === null || typeof named !== "object" || Array.isArray(named)) {
    throw new DotsCodecError("The body is not a CBOR map.");
  }
  return named;
}

function fromKeys(value: unknown, where: string): DotsValue {
  if (value instanceof Map) {
    const out: DotsObject = {};
    for (const [key, inner] of value) {
      if (typeof key !== "number" || !Number.isInteger(key) || key < 0) {
        throw new DotsCodecError(`${where} has the key ${JSON.stringify(key)}: DOTS keys are unsigned integers.`);
      }
      const name = DOTS_NAMES.get(key);
      if (name === undefined) {
        if (isComprehensionOptional(key)) continue;
        throw new DotsCodecError(`${where} has the unknown comprehension-required key ${key}.`);
      }
      out[name] = fromKeys(inner, `"${name}"`);
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => fromKeys(v, where));
  if (value instanceof Tag) {
    const parts = value.value as unknown;
    if (value.tag === 4 && Array.isArray(parts) && parts.length === 2) {
      const [exponent, mantissa] = parts.map(Number);
      return Number((mantissa * 10 ** exponent).toFixed(Math.max(0, -exponent)));
    }
    throw new DotsCodecError(`${where} holds CBOR tag ${value.tag}, which DOTS does not use here.`);
  }
  if (value instanceof Uint8Array) throw new DotsCodecError(`${where} holds a byte string where DOTS has none.`);
  if (value === undefined) return null;
  // Maps are decoded as Maps, so a plain object is no data item: it is how cbor-x answers a
  // "break" (0xff) outside an indefinite-length item, which is not valid CBOR.
  if (typeof value === "object" && value !== null) throw new DotsCodecError("The body is not valid CBOR.");
  return value as DotsValue;
}

/** Encodes a named object as DOTS CBOR (integer keys). */
export function encodeDots(message: DotsObject): Buffer {
  return encoder.encode(toKeys(message, ""));
}

function toKeys(value: DotsValue, name: string): unknown {
  if (Array.isArray(value)) return value.map((v) => toKeys(v, name));
  if (value !== null && typeof value === "object") {
    const out = new Map<number, unknown>();
    for (const [inner, v] of Object.entries(value)) {
      const key = DOTS_KEYS[inner];
      if (key === undefined) throw new DotsCodecError(`"${inner}" is not a DOTS signal channel parameter.`);
      out.set(key, toKeys(v, inner));
    }
    return out;
  }
  if (name.endsWith("-decimal") && typeof value === "number") {
    return new Tag([DECIMAL_EXPONENT, Math.round(value * 10 ** -DECIMAL_EXPONENT)], 4);
  }
  return value;
}

// ---- the JSON mapping (RFC 9132 §6): uint64 as strings, enumerations by name ----

const UINT64_NAMES = new Set([
  "mitigation-start",
  "bytes-dropped",
  "bps-dropped",
  "pkts-dropped",
  "pps-dropped",
  "start-time",
  "end-time",
  "low-percentile-g",
  "mid-percentile-g",
  "high-percentile-g",
  "peak-g",
  "current-g",
]);

const ENUMS: Record<string, Record<string, number>> = {
  status: Object.fromEntries(Object.entries(MITIGATION_STATUS_NAMES).map(([k, v]) => [v, Number(k)])),
  "attack-status": { "under-attack": 1, "attack-successfully-mitigated": 2 },
  "conflict-status": {
    "request-inactive-other-active": 1,
    "request-active": 2,
    "all-requests-inactive": 3,
  },
  "conflict-cause": { "overlapping-targets": 1, "conflict-with-acceptlist": 2, "cuid-collision": 3 },
  "activation-type": { "activate-when-mitigating": 1, immediate: 2, deactivate: 3 },
};

/** A message in the JSON mapping (as the RFCs' examples are written) → the CBOR model. */
export function fromJsonMapping(value: unknown, name = ""): DotsValue {
  if (Array.isArray(value)) return value.map((v) => fromJsonMapping(v, name));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJsonMapping(v, k)]));
  }
  if (typeof value === "string") {
    if (UINT64_NAMES.has(name)) return Number(value);
    if (name.endsWith("-decimal")) return Number(value);
    const table = ENUMS[name];
    if (table) {
      const code = table[value];
      if (code === undefined) throw new DotsCodecError(`"${value}" is not a value of "${name}".`);
      return code;
    }
  }
  return value as DotsValue;
}

/** The CBOR model → the JSON mapping. */
export function toJsonMapping(value: DotsValue, name = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => toJsonMapping(v, name));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonMapping(v, k)]));
  }
  if ((typeof value === "number" || typeof value === "bigint") && UINT64_NAMES.has(name)) return value.toString();
  if (typeof value === "number" && name.endsWith("-decimal")) return value.toFixed(-DECIMAL_EXPONENT);
  const table = ENUMS[name];
  if (table && typeof value === "number") {
    const entry = Object.entries(table).find(([, code]) => code === value);
    if (entry) return entry[0];
  }
  return value;
}

// ---- the mitigation request ----

export interface PortRange {
  lower: number;
  upper: number;
}

/** An attack source the client reported (RFC 9244 top talker, or RFC 8973 source prefix). */
export interface ReportedSource {
  prefix: Prefix;
  text: string;
}

/** A mitigation request's one scope, read and checked. */
export interface MitigationScope {
  targets: Prefix[];
  aliasNames: string[];
  portRanges: PortRange[];
  protocols: number[];
  /** Seconds; -1 asks for an indefinite lifetime. */
  lifetime: number;
  triggerMitigation: boolean;
  /** Non-spoofed attack sources from the telemetry attributes, if any. */
  sources: ReportedSource[];
}

const SCOPE_PARAMETERS = new Set([
  "target-prefix",
  "target-port-range",
  "target-protocol",
  "target-fqdn",
  "target-uri",
  "alias-name",
  "lifetime",
  "trigger-mitigation",
  "ietf-dots-telemetry:total-attack-traffic",
  "ietf-dots-telemetry:total-attack-connection",
  "ietf-dots-telemetry:attack-detail",
  "ietf-dots-call-home:source-prefix",
  "ietf-dots-call-home:source-port-range",
  "ietf-dots-call-home:source-icmp-type-range",
  "ietf-dots-signal-control:acl-list",
]);

function isObject(value: DotsValue | undefined): value is DotsObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function list(scope: DotsObject, name: string): DotsValue[] {
  const value = scope[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new DotsCodecError(`"${name}" must be an array.`);
  return value;
}

function strings(scope: DotsObject, name: string): string[] {
  return list(scope, name).map((v) => {
    if (typeof v !== "string") throw new DotsCodecError(`Every "${name}" must be a text string.`);
    return v;
  });
}

function whole(value: DotsValue | undefined, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new DotsCodecError(
      `"${name}" must be a whole number from ${min} to ${max}, not ${typeof value === "bigint" ? value : JSON.stringify(value)}.`,
    );
  }
  return value;
}

function prefixOf(text: string, name: string): Prefix {
  try {
    return parsePrefix(text, { allowAddress: true });
  } catch (error) {
    throw new DotsCodecError(`"${name}" ${JSON.stringify(text)} is not a prefix: ${(error as Error).message}`);
  }
}

/**
 * Reads a PUT body (RFC 9132 §4.4.1): exactly one scope, no cuid or mid in the body (they travel
 * in the Uri-Path), at least one target, and nothing the signal channel does not define.
 */
export function parseMitigationRequest(body: DotsObject, defaultLifetime: number): MitigationScope {
  const container = body["ietf-dots-signal-channel:mitigation-scope"];
  const extra = Object.keys(body).filter((k) => k !== "ietf-dots-signal-channel:mitigation-scope");
  if (extra.length > 0)
    throw new DotsCodecError(`A mitigation request carries only a mitigation scope, not "${extra[0]}".`);
  if (!isObject(container)) throw new DotsCodecError("The body has no ietf-dots-signal-channel:mitigation-scope map.");
  const scopes = container.scope;
  if (!Array.isArray(scopes) || scopes.length !== 1 || !isObject(scopes[0])) {
    throw new DotsCodecError("A mitigation request has exactly one scope.");
  }
  const scope = scopes[0];
  for (const name of Object.keys(scope)) {
    if (name === "cuid" || name === "mid" || name === "cdid") {
      throw new DotsCodecError(`"${name}" belongs in the Uri-Path, not in the body.`);
    }
    if (!SCOPE_PARAMETERS.has(name)) throw new DotsCodecError(`"${name}" is not a parameter of a mitigation request.`);
  }
  if (scope["target-fqdn"] !== undefined || scope["target-uri"] !== undefined) {
    throw new DotsCodecError(
      "This server takes targets as target-prefix or alias-name, not target-fqdn or target-uri.",
    );
  }
  const targets = strings(scope, "target-prefix").map((t) => prefixOf(t, "target-prefix"));
  const aliasNames = strings(scope, "alias-name");
  if (targets.length === 0 && aliasNames.length === 0) {
    throw new DotsCodecError("A mitigation request needs at least one target-prefix or alias-name.");
  }
  const portRanges = list(scope, "target-port-range").map((range) => {
    if (!isObject(range)) throw new DotsCodecError(`Every "target-port-range" must be a map.`);
    const lower = whole(range["lower-port"], "lower-port", 0, 65535);
    const upper = range["upper-port"] === undefined ? lower : whole(range["upper-port"], "upper-port", lower, 65535);
    return { lower, upper };
  });
  const protocols = list(scope, "target-protocol").map((p) => whole(p, "target-protocol", 0, 255));
  const lifetime = scope.lifetime === undefined ? defaultLifetime : whole(scope.lifetime, "lifetime", -1, 0xffffffff);
  if (lifetime === 0) throw new DotsCodecError(`"lifetime" must be -1 (indefinite) or above 0, not 0.`);
  const trigger = scope["trigger-mitigation"];
  if (trigger !== undefined && typeof trigger !== "boolean") {
    throw new DotsCodecError(`"trigger-mitigation" must be true or false.`);
  }
  return {
    targets,
    aliasNames,
    portRanges,
    protocols,
    lifetime,
    triggerMitigation: trigger ?? true,
    sources: reportedSources(scope),
  };
}

/**
 * The attack sources a client reports: RFC 9244 top talkers in the attack details (a spoofed
 * talker says nothing about where the attack comes from, so it is left out) and RFC 8973 source
 * prefixes.
 */
export function reportedSources(scope: DotsObject): ReportedSource[] {
  const texts: string[] = strings(scope, "ietf-dots-call-home:source-prefix");
  for (const detail of list(scope, "ietf-dots-telemetry:attack-detail")) {
    if (!isObject(detail)) throw new DotsCodecError(`Every "attack-detail" must be a map.`);
    const top = detail["top-talker"];
    if (top === undefined) continue;
    if (!isObject(top)) throw new DotsCodecError(`"top-talker" must be a map.`);
    for (const talker of list(top, "talker")) {
      if (!isObject(talker)) throw new DotsCodecError(`Every "talker" must be a map.`);
      if (talker["spoofed-status"] === true) continue;
      const source = talker["source-prefix"];
      if (typeof source !== "string") throw new DotsCodecError(`Every "talker" needs a "source-prefix".`);
      texts.push(source);
    }
  }
  return [...new Set(texts)].map((text) => ({ text, prefix: prefixOf(text, "source-prefix") }));
}

/** The top talkers of RFC 9244 telemetry for a pre-or-ongoing mitigation (`ietf-dots-telemetry:telemetry`). */
export function telemetryTargetsAndSources(body: DotsObject): { targets: Prefix[]; sources: ReportedSource[] }[] {
  const telemetry = body["ietf-dots-telemetry:telemetry"];
  if (!isObject(telemetry)) throw new DotsCodecError("The body has no ietf-dots-telemetry:telemetry map.");
  return list(telemetry, "pre-or-ongoing-mitigation").map((entry) => {
    if (!isObject(entry)) throw new DotsCodecError(`Every "pre-or-ongoing-mitigation" must be a map.`);
    const target = entry.target;
    const targets = isObject(target) ? strings(target, "target-prefix").map((t) => prefixOf(t, "target-prefix")) : [];
    const details = list(entry, "attack-detail");
    const sources = reportedSources({ "ietf-dots-telemetry:attack-detail": details });
    return { targets, sources };
  });
}
