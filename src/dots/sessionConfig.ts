/**
 * DOTS signal channel session configuration (RFC 9132 §4.5): the ranges the server accepts, the
 * defaults, and each client's current values, in mitigating and idle time.
 */
import type { DotsObject, DotsValue } from "./codec";
import { code } from "./coap";
import { DotsError } from "./mitigations";

/** [min, max, default] per parameter (RFC 9132 §4.5 defaults). */
const RANGES = {
  "heartbeat-interval": [15, 240, 30],
  "missing-hb-allowed": [3, 20, 15],
  "probing-rate": [5, 20, 5],
  "max-retransmit": [2, 15, 3],
  "ack-timeout": [1, 30, 2],
  "ack-random-factor": [1.1, 4, 1.5],
} as const;
type Parameter = keyof typeof RANGES;
const DECIMAL: ReadonlySet<Parameter> = new Set(["ack-timeout", "ack-random-factor"]);
/** Idle time has the same ranges; its heartbeat default is 0 (none) over a reliable transport. */
const IDLE_HEARTBEAT_DEFAULT = 0;

type Values = Record<Parameter, number>;

export const UNPROCESSABLE_ENTITY = code(4, 22);

function defaults(idle: boolean): Values {
  const values = Object.fromEntries(Object.entries(RANGES).map(([name, [, , d]]) => [name, d])) as Values;
  if (idle) values["heartbeat-interval"] = IDLE_HEARTBEAT_DEFAULT;
  return values;
}

function describe(values: Values): DotsObject {
  const out: DotsObject = {};
  for (const [name, [min, max]] of Object.entries(RANGES) as [Parameter, readonly number[]][]) {
    out[name] = DECIMAL.has(name)
      ? { "max-value-decimal": max, "min-value-decimal": min, "current-value-decimal": values[name] }
      : { "max-value": max, "min-value": min, "current-value": values[name] };
  }
  return out;
}

function isMap(value: DotsValue | undefined): value is DotsObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export class SessionConfigs {
  private readonly byClient = new Map<string, { sid: number; mitigating: Values; idle: Values }>();

  view(client: string): DotsObject {
    const current = this.byClient.get(client);
    const config: DotsObject = {
      "mitigating-config": describe(current?.mitigating ?? defaults(false)),
      "idle-config": describe(current?.idle ?? defaults(true)),
    };
    if (current) config.sid = current.sid;
    return { "ietf-dots-signal-channel:signal-config": config };
  }

  /** Applies a PUT; true when it created the client's configuration. Out-of-range values: 4.22. */
  put(client: string, sid: number, body: DotsObject): boolean {
    const config = body["ietf-dots-signal-channel:signal-config"];
    if (!isMap(config)) throw new DotsError(code(4, 0), "The body has no ietf-dots-signal-channel:signal-config map.");
    const current = this.byClient.get(client);
    if (current && sid < current.sid) {
      throw new DotsError(code(4, 9), `sid ${sid} is below the current sid ${current.sid}: sid values increase.`);
    }
    const next = {
      sid,
      mitigating: { ...(current?.mitigating ?? defaults(false)) },
      idle: { ...(current?.idle ?? defaults(true)) },
    };
    for (const [which, values] of [
      ["mitigating-config", next.mitigating],
      ["idle-config", next.idle],
    ] as const) {
      const part = config[which];
      if (part === undefined) continue;
      if (!isMap(part)) throw new DotsError(code(4, 0), `"${which}" must be a map.`);
      for (const [name, entry] of Object.entries(part)) {
        const range = RANGES[name as Parameter];
        if (!range) throw new DotsError(code(4, 0), `"${name}" is not a session parameter.`);
        const field = DECIMAL.has(name as Parameter) ? "current-value-decimal" : "current-value";
        const value = isMap(entry) ? entry[field] : undefined;
        if (typeof value !== "number") throw new DotsError(code(4, 0), `"${name}" needs a "${field}".`);
        const idleHeartbeatOff = which === "idle-config" && name === "heartbeat-interval" && value === 0;
        if (!idleHeartbeatOff && (value < range[0] || value > range[1])) {
          throw new DotsError(
            UNPROCESSABLE_ENTITY,
            `"${name}" ${value} is outside ${range[0]} to ${range[1]}.`,
            this.view(client),
          );
        }
        values[name as Parameter] = value;
      }
    }
    this.byClient.set(client, next);
    return current === undefined;
  }

  /** A DELETE: back to the defaults. */
  reset(client: string, sid: number | undefined): void {
    const current = this.byClient.get(client);
    if (current && sid !== undefined && sid !== current.sid) {
      throw new DotsError(code(4, 4), `There is no session configuration with sid ${sid}.`);
    }
    this.byClient.delete(client);
  }
}
