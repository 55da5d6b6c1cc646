/**
 * The configuration file of the long-running agents (JSON), validated against a schema per agent
 * with one sentence per mistake — where (the file and the setting, or the flag), what is wrong,
 * and the value given — all of them in one error. Command-line flags override the file, setting
 * by setting. The victim daemon's spending policy is validated by src/victim/policy.ts (inline in
 * the file, or in a file of its own that the configuration names), not again here.
 *
 * `ConfigSource` keeps the file and the flags, so that SIGHUP can read the file again and take
 * its policy part (the rest needs a restart; `changedOutsidePolicy` says what).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { isAddress } from "ethers";
import { z } from "zod";

import { BACKEND_NAMES } from "../backends";
import { OperatorError } from "../errors";
import { parseIntakeAddress } from "../victim/intake";
import { parseSpendingPolicy, readSpendingPolicy, type SpendingPolicy } from "../victim/policy";
import { LOG_FORMATS, LOG_LEVELS } from "./log";
import { parseListenAddress } from "./server";

const given = (input: unknown) => JSON.stringify(input);

/** A zod message: "is missing", or what was expected and what was given. */
const expected =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? "is missing" : `must be ${what}, not ${given(issue.input)}`;

const whole = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number({ error: expected(what) })
    .int({ error: expected(what) })
    .min(min, { error: (issue) => `must be at least ${min}, not ${given(issue.input)}` })
    .max(max, { error: (issue) => `must be at most ${max}, not ${given(issue.input)}` });

const text = (what: string) => z.string({ error: expected(what) }).min(1, { error: `must be ${what}, not ""` });

/** Parsed by one of the project's parsers, whose sentence becomes the message. */
const parsedBy = <T>(what: string, parse: (value: string) => T) =>
  z.string({ error: expected(what) }).transform((value, context) => {
    try {
      parse(value);
    } catch {
      context.addIssue({ code: "custom", message: `must be ${what}, not ${given(value)}` });
      return z.NEVER;
    }
    return value;
  });

const address = (what: string) =>
  z.string({ error: expected(what) }).refine((value) => isAddress(value), {
    error: (issue) => `must be ${what}, not ${given(issue.input)}`,
  });

const listen = parsedBy("host:port, such as 127.0.0.1:9750", (value) => parseListenAddress(value));

/**
 * Which account the agent acts as, on the network `--network` names (hardhat.config.ts: the node's
 * URL and key come from the environment there, never from this file).
 */
const CHAIN = z.strictObject(
  {
    /** Checked against the node's at start, when given. */
    chainId: whole("a chain id", 1).optional(),
    /** An account index of the network's accounts ("0"), or an address (as --from). */
    account: z
      .union([z.string(), z.number()], { error: expected('an account index such as "2", or an address') })
      .transform((value) => String(value))
      .refine((value) => /^\d{1,4}$/.test(value) || isAddress(value), {
        error: (issue) => `must be an account index such as "2", or an address, not ${given(issue.input)}`,
      })
      .default("0"),
    /** The deployment folder (deployed_addresses.json), as $MARKET_DEPLOYMENT_DIR. */
    deployment: text("a folder path").optional(),
  },
  { error: (issue) => (issue.code === "invalid_type" ? expected("an object")(issue) : undefined) },
);

const METRICS = z
  .strictObject({
    /** Where /metrics, /healthz and /livez are served: host:port; none when absent. */
    listen: listen.optional(),
    /** /healthz is unready when the agent is more than this many blocks behind the head. */
    maxLagBlocks: whole("a number of blocks", 0).default(5),
  })
  .default({ maxLagBlocks: 5 });

const LOG = z
  .strictObject({
    level: z.enum(LOG_LEVELS, { error: expected(`one of ${LOG_LEVELS.join(", ")}`) }).default("info"),
    format: z.enum(LOG_FORMATS, { error: expected(`one of ${LOG_FORMATS.join(", ")}`) }).default("auto"),
    /** A file to append to; standard output (standard error with ExaBGP on stdout) when absent. */
    file: text("a file path").optional(),
  })
  .default({ level: "info", format: "auto" });

const BACKEND = z
  .strictObject({
    name: z.enum(BACKEND_NAMES, { error: expected(`one of ${BACKEND_NAMES.join(", ")}`) }).default("log"),
    /** exabgp: the command file; "-" for standard output. */
    output: text("a file path, or - for standard output").default("-"),
    /** gobgp: gobgpd's gRPC address and the CLI. */
    host: text("a host name or address").default("127.0.0.1"),
    port: whole("a port", 1, 65535).default(50051),
    binary: text("a program").default("gobgp"),
  })
  .default({ name: "log", output: "-", host: "127.0.0.1", port: 50051, binary: "gobgp" });

/** What SIGHUP reloads in the provider agent: src/provider/policy.ts's PolicyOptions. */
const PROVIDER_POLICY = z
  .strictObject({
    rateLimitBytesPerSecond: whole("a rate in bytes per second", 1).default(125_000_000),
    minAckMarginSeconds: whole("a number of seconds", 0).default(2),
    /** Per-offering capacity overrides: {"0": 5}. */
    capacity: z
      .record(
        z.string().regex(/^\d{1,10}$/, { error: (issue) => `must be offering ids, not ${given(issue.input)}` }),
        whole("a capacity", 0),
        { error: expected('an object of offering id to capacity, such as {"0": 5}') },
      )
      .optional(),
    denyRequesters: z.array(address("an address"), { error: expected("a list of addresses") }).default([]),
  })
  .default({ rateLimitBytesPerSecond: 125_000_000, minAckMarginSeconds: 2, denyRequesters: [] });

const PROVIDER = z.strictObject(
  {
    chain: CHAIN.default({ account: "0" }),
    /** The service contract; the account's own when absent. */
    service: address("the service contract's address").optional(),
    db: text("a file path").default("var/provider.db"),
    confirmations: whole("a number of blocks", 0).default(0),
    pollMs: whole("a number of milliseconds", 10).default(1000),
    startBlock: whole("a block number", 0).optional(),
    statusReports: z.boolean({ error: expected("true or false") }).default(true),
    backend: BACKEND,
    policy: PROVIDER_POLICY,
    metrics: METRICS,
    log: LOG,
  },
  { error: (issue) => (issue.code === "invalid_type" ? expected("a JSON object")(issue) : undefined) },
);

const VICTIM = z.strictObject(
  {
    chain: CHAIN.default({ account: "0" }),
    db: text("a file path").default("var/victim.db"),
    /** Where the notify script posts: host:port or unix:/path. */
    listen: parsedBy("host:port or unix:/path", (value) => parseIntakeAddress(value)).default("127.0.0.1:9740"),
    pollMs: whole("a number of milliseconds", 10).default(1000),
    followMs: whole("a number of milliseconds", 10).default(250),
    /** The spending policy: a file path, or the policy itself. Required. */
    policy: z.unknown().optional(),
    metrics: METRICS,
    log: LOG,
  },
  { error: (issue) => (issue.code === "invalid_type" ? expected("a JSON object")(issue) : undefined) },
);

export type ProviderFileConfig = z.infer<typeof PROVIDER>;
export type ProviderPolicyConfig = ProviderFileConfig["policy"];
export interface VictimConfig extends Omit<z.infer<typeof VICTIM>, "policy"> {
  policy: SpendingPolicy;
  /** The policy file, when the policy is in a file of its own. */
  policyFile?: string;
}
export type ProviderConfig = ProviderFileConfig;

/** How a flag sets a setting: its path in the file, and how its text becomes a value. */
interface FlagSpec {
  path: string[];
  kind: "text" | "number" | "true" | "false" | "capacities";
}

/** The provider task's flags (npx hardhat agent provider --…), by their camel-case names. */
export const PROVIDER_FLAGS: Record<string, FlagSpec> = {
  from: { path: ["chain", "account"], kind: "text" },
  service: { path: ["service"], kind: "text" },
  db: { path: ["db"], kind: "text" },
  confirmations: { path: ["confirmations"], kind: "number" },
  pollMs: { path: ["pollMs"], kind: "number" },
  startBlock: { path: ["startBlock"], kind: "number" },
  noStatusReports: { path: ["statusReports"], kind: "false" },
  backend: { path: ["backend", "name"], kind: "text" },
  exabgpOutput: { path: ["backend", "output"], kind: "text" },
  gobgpHost: { path: ["backend", "host"], kind: "text" },
  gobgpPort: { path: ["backend", "port"], kind: "number" },
  gobgpBinary: { path: ["backend", "binary"], kind: "text" },
  rateLimit: { path: ["policy", "rateLimitBytesPerSecond"], kind: "number" },
  minAckMargin: { path: ["policy", "minAckMarginSeconds"], kind: "number" },
  capacity: { path: ["policy", "capacity"], kind: "capacities" },
  metricsListen: { path: ["metrics", "listen"], kind: "text" },
  logLevel: { path: ["log", "level"], kind: "text" },
  logFormat: { path: ["log", "format"], kind: "text" },
};

/** The victim daemon task's flags (npx hardhat agent victim-daemon --…). */
export const VICTIM_FLAGS: Record<string, FlagSpec> = {
  from: { path: ["chain", "account"], kind: "text" },
  policy: { path: ["policy"], kind: "text" },
  db: { path: ["db"], kind: "text" },
  listen: { path: ["listen"], kind: "text" },
  pollMs: { path: ["pollMs"], kind: "number" },
  followMs: { path: ["followMs"], kind: "number" },
  metricsListen: { path: ["metrics", "listen"], kind: "text" },
  logLevel: { path: ["log", "level"], kind: "text" },
  logFormat: { path: ["log", "format"], kind: "text" },
};

/** "pollMs" → "--poll-ms". */
function flagName(name: string): string {
  return "--" + name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/** "0:5,1:3" → {"0": 5, "1": 3}; the text itself when it is not that (the schema then says why). */
function capacities(value: string): unknown {
  const entries = value.split(",").map((part) => part.trim().split(":"));
  if (!entries.every((e) => e.length === 2 && /^\d+$/.test(e[0]) && /^\d+$/.test(e[1]))) return value;
  return Object.fromEntries(entries.map(([offering, capacity]) => [offering, Number(capacity)]));
}

function flagValue(spec: FlagSpec, value: string | boolean): unknown {
  switch (spec.kind) {
    case "true":
    case "false":
      return spec.kind === "true" ? value === true : value !== true;
    case "number":
      return typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
    case "capacities":
      return typeof value === "string" ? capacities(value) : value;
    case "text":
      return value;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `file` with the given flags written over it; flags absent (undefined, or a false switch) change nothing. */
function applyFlags(
  file: unknown,
  flags: Readonly<Record<string, string | boolean | undefined>>,
  specs: Record<string, FlagSpec>,
): { merged: unknown; fromFlags: Map<string, string> } {
  const fromFlags = new Map<string, string>();
  if (!isObject(file)) return { merged: file, fromFlags };
  const merged: Record<string, unknown> = structuredClone(file);
  for (const [name, value] of Object.entries(flags)) {
    const spec = specs[name];
    if (spec === undefined || value === undefined || value === false) continue;
    let node = merged;
    for (const key of spec.path.slice(0, -1)) {
      if (!isObject(node[key])) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[spec.path[spec.path.length - 1]] = flagValue(spec, value);
    fromFlags.set(spec.path.join("."), flagName(name));
  }
  return { merged, fromFlags };
}

/** "policy.capacity.0", "denyRequesters[1]": a setting's path as the file spells it. */
function pathText(keys: readonly PropertyKey[]): string {
  return keys.map((key, i) => (typeof key === "number" ? `[${key}]` : `${i > 0 ? "." : ""}${String(key)}`)).join("");
}

/** One sentence per issue: "<file>: "<setting>" <what is wrong>." or "--flag <what is wrong>." */
function sentences(issues: readonly z.core.$ZodIssue[], origin: string, fromFlags: Map<string, string>): string[] {
  return issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const where = issue.path.length === 0 ? "" : ` in "${pathText(issue.path)}"`;
      const keys = issue.keys.map((k) => `"${k}"`).join(", ");
      return `${origin}: ${keys}${where} ${issue.keys.length === 1 ? "is not a setting" : "are not settings"}.`;
    }
    const where = pathText(issue.path);
    const flag = fromFlags.get(issue.path.map(String).join("."));
    if (flag !== undefined) return `${flag} ${issue.message}.`;
    return `${origin}:${where === "" ? "" : ` "${where}"`} ${issue.message}.`;
  });
}

/**
 * The flags an operator gave: a task's parameters with its defaults removed (Hardhat fills them
 * in), so that a default does not override the file. A flag given with its default value is
 * therefore the file's to decide; the file's absence leaves the default anyway.
 */
export function explicitFlags(
  args: Readonly<Record<string, unknown>>,
  defaults: Readonly<Record<string, string | boolean | undefined>>,
  specs: Record<string, FlagSpec>,
): Flags {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(specs)) {
    const value = args[name];
    if ((typeof value === "string" || typeof value === "boolean") && value !== defaults[name]) flags[name] = value;
  }
  return flags;
}

/** Reads a JSON configuration file; one sentence when it cannot be read or is not JSON. */
export function readConfigFile(file: string): unknown {
  let content: string;
  try {
    content = readFileSync(file, "utf8");
  } catch {
    throw new OperatorError(`Cannot read the configuration file ${file}.`);
  }
  try {
    return JSON.parse(content) as unknown;
  } catch (error) {
    throw new OperatorError(`The configuration file ${file} is not valid JSON: ${(error as Error).message}.`);
  }
}

export type Flags = Readonly<Record<string, string | boolean | undefined>>;

/** Validates a provider configuration (`origin` names it in messages) with `flags` over it. */
export function parseProviderConfig(value: unknown, flags: Flags = {}, origin = "The configuration"): ProviderConfig {
  const { merged, fromFlags } = applyFlags(value ?? {}, flags, PROVIDER_FLAGS);
  const result = PROVIDER.safeParse(merged);
  if (!result.success) throw new OperatorError(sentences(result.error.issues, origin, fromFlags).join(" "));
  return result.data;
}

/**
 * Validates a victim daemon configuration with `flags` over it. The policy is the object given,
 * or read from the file it names (relative to `baseDir`); `--dry-run` makes it a dry run.
 */
export function parseVictimConfig(
  value: unknown,
  flags: Flags = {},
  origin = "The configuration",
  baseDir = process.cwd(),
  fromFile = true,
): VictimConfig {
  const { merged, fromFlags } = applyFlags(value ?? {}, flags, VICTIM_FLAGS);
  const result = VICTIM.safeParse(merged);
  const problems = result.success ? [] : sentences(result.error.issues, origin, fromFlags);
  let policy: SpendingPolicy | undefined;
  let policyFile: string | undefined;
  const raw = isObject(merged) ? merged.policy : undefined;
  try {
    if (raw === undefined) {
      throw new OperatorError(
        fromFile ? `${origin}: "policy" is missing: give the spending policy, or its file.` : "--policy is required.",
      );
    } else if (typeof raw === "string") {
      policyFile = path.resolve(baseDir, raw);
      policy = readSpendingPolicy(policyFile);
    } else {
      policy = parseSpendingPolicy(raw, `${origin} (policy)`);
    }
  } catch (error) {
    problems.push(error instanceof OperatorError ? error.message : String(error));
  }
  if (!result.success || policy === undefined) throw new OperatorError(problems.join(" "));
  if (flags.dryRun === true) policy = { ...policy, dryRun: true };
  return { ...result.data, policy, ...(policyFile === undefined ? {} : { policyFile }) };
}

/** The top-level settings whose value differs, the policy aside: what a reload cannot change. */
export function changedOutsidePolicy(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete("policy");
  keys.delete("policyFile");
  return [...keys].filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key])).sort();
}

/**
 * The configuration of one agent: the file (optional: flags alone work as before) and the flags,
 * kept so that SIGHUP reads the file again with the same flags over it.
 */
export class ConfigSource<C extends { policy: unknown }> {
  private constructor(
    private readonly file: string | undefined,
    private readonly flags: Flags,
    private readonly parse: (value: unknown, flags: Flags, origin: string, baseDir: string, fromFile: boolean) => C,
  ) {}

  static provider(file: string | undefined, flags: Flags): ConfigSource<ProviderConfig> {
    return new ConfigSource(file, flags, (value, f, origin) => parseProviderConfig(value, f, origin));
  }

  static victim(file: string | undefined, flags: Flags): ConfigSource<VictimConfig> {
    return new ConfigSource(file, flags, parseVictimConfig);
  }

  /** Reads and validates everything; throws one OperatorError with every mistake. */
  load(): C {
    if (this.file === undefined) return this.parse({}, this.flags, "The flags", process.cwd(), false);
    return this.parse(readConfigFile(this.file), this.flags, this.file, path.dirname(path.resolve(this.file)), true);
  }

  /**
   * For SIGHUP: the file read again. Its policy may go into force; `ignored` lists the other
   * settings that changed (they need a restart). Throws, changing nothing, on any mistake.
   */
  reload(current: C): { policy: C["policy"]; ignored: string[] } {
    const next = this.load();
    return { policy: next.policy, ignored: changedOutsidePolicy(current, next) };
  }
}
