/** Chooses a mitigation back end by name, with its settings. */
import { ExabgpBackend } from "./exabgp";
import { GobgpBackend } from "./gobgp";
import { LogBackend } from "./log";
import type { MitigationBackend } from "./types";

export const BACKEND_NAMES = ["log", "exabgp", "gobgp"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendSettings {
  name: string;
  /** log: where lines go. */
  log?: (line: string) => void;
  /** exabgp: a file to append commands to; "-" or undefined for standard output. */
  exabgpOutput?: string;
  /** gobgp: the CLI and gobgpd's gRPC address. */
  gobgpBinary?: string;
  gobgpHost?: string;
  gobgpPort?: number;
}

export function createBackend(settings: BackendSettings): MitigationBackend {
  switch (settings.name) {
    case "log":
      return new LogBackend(settings.log);
    case "exabgp":
      return new ExabgpBackend(
        settings.exabgpOutput === undefined || settings.exabgpOutput === "-"
          ? { stream: process.stdout }
          : { file: settings.exabgpOutput },
      );
    case "gobgp":
      return new GobgpBackend({ binary: settings.gobgpBinary, host: settings.gobgpHost, port: settings.gobgpPort });
    default:
      throw new Error(`"${settings.name}" is not a back end: use ${BACKEND_NAMES.join(", ")}.`);
  }
}
