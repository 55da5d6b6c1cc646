/**
 * The agents' logs: JSON, one event per line (pino), with the fields an operator filters on —
 * `requestId` (the full id as decimal text, and `request`, the "#n" the other logs print),
 * `service` and `target` — and the message in the project's style: one sentence. In a terminal
 * the same events are printed readably (pino-pretty). Writes are synchronous, so that the last
 * events before a kill are on disk.
 */
import pino, { type DestinationStream, type Level, type Logger } from "pino";
import pretty from "pino-pretty";

import { toOperatorError } from "../errors";
import { formatRequestId } from "../format";
import { formatPrefix, parsePrefix } from "../prefix";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export const LOG_FORMATS = ["json", "pretty", "auto"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  /** Which agent: "provider", "victim", "dots-gateway"… (the `agent` field of every event). */
  agent: string;
  level?: Level;
  /** json (default when not a terminal), pretty, or auto (pretty when the destination is a terminal). */
  format?: LogFormat;
  /**
   * 1 (standard output, the default), 2 (standard error: when standard output carries ExaBGP's
   * commands), a file path, or a stream (tests).
   */
  destination?: 1 | 2 | string | DestinationStream;
  /** Fields on every event, e.g. the service or the account. */
  base?: Record<string, unknown>;
}

function isTerminal(destination: LoggerOptions["destination"]): boolean {
  if (destination === 2) return process.stderr.isTTY === true;
  if (destination === undefined || destination === 1) return process.stdout.isTTY === true;
  return false;
}

export function createLogger(options: LoggerOptions): Logger {
  const format = options.format ?? "auto";
  const destination = options.destination ?? 1;
  const settings = {
    level: options.level ?? "info",
    base: { agent: options.agent, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level": "info" rather than 30: readable by people and by jq alike.
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const stream: DestinationStream =
    typeof destination === "object" ? destination : pino.destination({ dest: destination, sync: true, mkdir: true });
  if (format === "pretty" || (format === "auto" && isTerminal(destination))) {
    return pino(
      settings,
      pretty({
        destination: stream,
        sync: true,
        colorize: isTerminal(destination),
        ignore: "pid,hostname",
        translateTime: "SYS:standard",
      }),
    );
  }
  return pino(settings, stream);
}

/** What an event is about. */
export interface EventSubject {
  requestId?: bigint;
  service?: string;
  target?: string;
  [field: string]: unknown;
}

/** The subject as log fields: the request id as decimal text and as "#n", the rest as given. */
export function eventFields(subject: EventSubject): Record<string, unknown> {
  const { requestId, ...rest } = subject;
  if (requestId === undefined) return rest;
  return { ...rest, requestId: requestId.toString(), request: formatRequestId(requestId) };
}

/** Logs an event: `event` names it (received, acknowledged, rule_installed…), `message` says it. */
export function logEvent(
  logger: Logger,
  level: Level,
  event: string,
  message: string,
  subject: EventSubject = {},
): void {
  logger[level]({ event, ...eventFields(subject) }, message);
}

/**
 * Logs a failure: the message is the error as one sentence (toOperatorError), the contract's
 * error name in `error` when there is one; never a stack trace.
 */
export function logError(
  logger: Logger,
  event: string,
  error: unknown,
  subject: EventSubject = {},
  level: Level = "error",
): string {
  const operatorError = toOperatorError(error);
  logger[level](
    { event, ...eventFields(subject), ...(operatorError.errorName ? { error: operatorError.errorName } : {}) },
    operatorError.message,
  );
  return operatorError.message;
}

/**
 * The agents' progress lines (`onProgress`) as log events, until each line becomes its own event:
 * "error: …" lines at level warn (the loop retries them), the rest at info, with the request
 * ("#n") when the line names one.
 */
export function progressToLog(logger: Logger, event = "progress"): (line: string) => void {
  return (line: string) => {
    const request = /#\d+/.exec(line)?.[0];
    const target = targetOf(line);
    const fields = {
      event,
      ...(request === undefined ? {} : { request }),
      ...(target === undefined ? {} : { target }),
    };
    if (line.startsWith("error: ")) logger.warn(fields, line.slice(7));
    else logger.info(fields, line);
  };
}

/** The first prefix a line names ("203.0.113.7/32"), canonical: the `target` of its event. */
export function targetOf(line: string): string | undefined {
  const match = /(?:^|\s)([0-9a-fA-F.:]*[.:][0-9a-fA-F.:]*\/\d{1,3})(?=[:\s,)]|$)/.exec(line);
  if (!match) return undefined;
  try {
    return formatPrefix(parsePrefix(match[1]));
  } catch {
    return undefined;
  }
}
