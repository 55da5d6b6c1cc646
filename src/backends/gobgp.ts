/**
 * The GoBGP back end: installs and removes BGP FlowSpec routes (RFC 8955 / RFC 8956) in a running
 * gobgpd through its `gobgp` CLI, and lists them from the daemon's own RIB. gobgpd keys a route by
 * its match, so adding a route twice or deleting an absent one changes nothing: replay is safe.
 */
import { execFile } from "node:child_process";

import { OperatorError } from "../errors";
import { canonicalPrefix } from "../prefix";
import type { FlowAction, FlowRule, MitigationBackend } from "./types";

export interface GobgpOptions {
  /** The gobgp CLI; default "gobgp" on the PATH. */
  binary?: string;
  /** gobgpd's gRPC address and port (gobgpd --api-hosts); default 127.0.0.1:50051. */
  host?: string;
  port?: number;
  /** Per-call timeout in ms; default 10 s. */
  timeoutMs?: number;
}

const AFI = { ipv4: "ipv4-flowspec", ipv6: "ipv6-flowspec" } as const;

/** The CLI words of a rule's match and action: "match source S destination D then discard". */
export function gobgpRuleArgs(rule: FlowRule): string[] {
  const then = rule.action.kind === "discard" ? ["discard"] : ["rate-limit", String(rule.action.bytesPerSecond)];
  return ["match", "source", rule.source, "destination", rule.destination, "then", ...then];
}

interface RibPath {
  nlri?: { value?: { type: number; value?: { prefix?: string } }[] };
  attrs?: { type: number; value?: unknown }[];
}

/** Parses `gobgp global rib -a <family>-flowspec -j` into rules (ids are the match). */
export function parseGobgpRib(family: "ipv4" | "ipv6", json: string): FlowRule[] {
  const rib = JSON.parse(json) as Record<string, RibPath[]> | null;
  const rules: FlowRule[] = [];
  for (const paths of Object.values(rib ?? {})) {
    for (const path of paths) {
      let source: string | undefined;
      let destination: string | undefined;
      for (const component of path.nlri?.value ?? []) {
        // FlowSpec component types 1 (destination prefix) and 2 (source prefix).
        if (component.type === 1) destination = component.value?.prefix;
        if (component.type === 2) source = component.value?.prefix;
      }
      if (source === undefined || destination === undefined) continue;
      let action: FlowAction | undefined;
      for (const attr of path.attrs ?? []) {
        if (attr.type !== 16 || !Array.isArray(attr.value)) continue; // extended communities
        for (const c of attr.value as { type: number; subtype: number; rate?: number }[]) {
          // Traffic-rate (0x80, 0x06): a rate of 0 is discard (RFC 8955 §7.3).
          if (c.type === 0x80 && c.subtype === 0x06) {
            const rate = Number(c.rate ?? 0);
            action = rate === 0 ? { kind: "discard" } : { kind: "rate-limit", bytesPerSecond: rate };
          }
        }
      }
      if (!action) continue;
      source = canonicalPrefix(source);
      destination = canonicalPrefix(destination);
      rules.push({ id: `${family} ${source} ${destination}`, family, source, destination, action });
    }
  }
  return rules;
}

export class GobgpBackend implements MitigationBackend {
  readonly name = "gobgp";
  private readonly binary: string;
  private readonly global: string[];
  private readonly timeoutMs: number;

  constructor(options: GobgpOptions = {}) {
    this.binary = options.binary ?? "gobgp";
    this.global = ["-u", options.host ?? "127.0.0.1", "-p", String(options.port ?? 50051)];
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async install(rule: FlowRule): Promise<void> {
    await this.run(["global", "rib", "-a", AFI[rule.family], "add", ...gobgpRuleArgs(rule)]);
  }

  async remove(rule: FlowRule): Promise<void> {
    await this.run(["global", "rib", "-a", AFI[rule.family], "del", ...gobgpRuleArgs(rule)]);
  }

  async list(): Promise<FlowRule[]> {
    // Both families at once: each CLI call is a process start, on the way to every install.
    const families = ["ipv4", "ipv6"] as const;
    const outputs = await Promise.all(families.map((family) => this.run(["global", "rib", "-a", AFI[family], "-j"])));
    return families.flatMap((family, i) => parseGobgpRib(family, outputs[i].trim() === "" ? "{}" : outputs[i]));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private run(args: string[]): Promise<string> {
    const all = [...this.global, ...args];
    return new Promise((resolve, reject) => {
      execFile(this.binary, all, { timeout: this.timeoutMs }, (error, stdout, stderr) => {
        if (error) {
          const detail = (stderr || stdout || error.message).trim().split("\n")[0];
          reject(new OperatorError(`gobgp ${all.join(" ")} failed: ${detail}`));
        } else {
          resolve(stdout);
        }
      });
    });
  }
}
