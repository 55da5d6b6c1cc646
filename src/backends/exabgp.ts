/**
 * The ExaBGP back end: the same rules as ExaBGP API commands ("announce flow route …"), one per
 * line, written to a stream (ExaBGP reads a helper process's stdout) or appended to a command
 * file, each line synced. In production the file is followed by the bridge ExaBGP runs
 * (scripts/exabgp-bridge.cjs, docs/detection.md): the agent never blocks on ExaBGP, and a
 * restarted ExaBGP is fed the file again. With a file, the rule set is rebuilt from the file on
 * open, so a restarted agent knows what is in force and replays nothing twice.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";

import { actionText, RuleSet } from "./rules";
import type { FlowAction, FlowRule, MitigationBackend } from "./types";

/** "announce flow route source 198.51.100.23/32 destination 203.0.113.10/32 discard". */
export function exabgpCommand(verb: "announce" | "withdraw", rule: FlowRule): string {
  return `${verb} flow route source ${rule.source} destination ${rule.destination} ${actionText(rule.action)}`;
}

const COMMAND = /^(announce|withdraw) flow route source (\S+) destination (\S+) (discard|rate-limit (\d+))$/;

export interface ExabgpReplay {
  rules: FlowRule[];
  /** Commands that changed nothing: an announce of a rule in force, a withdraw of one that is not. */
  redundant: string[];
  commands: number;
}

/** Replays ExaBGP commands (a file's text) into the rule set they leave in force. */
export function replayExabgp(text: string): ExabgpReplay {
  const set = new RuleSet();
  const redundant: string[] = [];
  let commands = 0;
  for (const line of text.split("\n")) {
    const match = COMMAND.exec(line.trim());
    if (!match) continue;
    commands++;
    const action: FlowAction =
      match[5] === undefined ? { kind: "discard" } : { kind: "rate-limit", bytesPerSecond: Number(match[5]) };
    const family = match[2].includes(":") ? "ipv6" : "ipv4";
    const rule: FlowRule = {
      id: `${family} ${match[2]} ${match[3]}`,
      family,
      source: match[2],
      destination: match[3],
      action,
    };
    const changed = match[1] === "announce" ? set.install(rule) : set.remove(rule);
    if (!changed) redundant.push(line);
  }
  return { rules: set.list(), redundant, commands };
}

export type ExabgpOutput = { file: string } | { stream: Writable };

export class ExabgpBackend implements MitigationBackend {
  readonly name = "exabgp";
  private readonly rules = new RuleSet();
  private readonly fd: number | undefined;
  private readonly stream: Writable | undefined;

  constructor(output: ExabgpOutput) {
    if ("file" in output) {
      if (existsSync(output.file)) {
        let text = readFileSync(output.file, "utf8");
        // A crash mid-write leaves at most a partial last line: drop it, it was never complete.
        const end = text.lastIndexOf("\n") + 1;
        if (end !== text.length) {
          truncateSync(output.file, Buffer.byteLength(text.slice(0, end)));
          text = text.slice(0, end);
        }
        for (const rule of replayExabgp(text).rules) this.rules.install(rule);
      }
      this.fd = openSync(output.file, "a");
    } else {
      this.stream = output.stream;
    }
  }

  install(rule: FlowRule): Promise<void> {
    if (this.rules.has(rule)) return Promise.resolve();
    this.write(exabgpCommand("announce", rule));
    this.rules.install(rule);
    return Promise.resolve();
  }

  remove(rule: FlowRule): Promise<void> {
    const current = this.rules
      .list()
      .find((r) => r.family === rule.family && r.source === rule.source && r.destination === rule.destination);
    if (!current) return Promise.resolve();
    // ExaBGP withdraws the route it announced: same match, same action.
    this.write(exabgpCommand("withdraw", current));
    this.rules.remove(rule);
    return Promise.resolve();
  }

  list(): Promise<FlowRule[]> {
    return Promise.resolve(this.rules.list());
  }

  close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    return Promise.resolve();
  }

  private write(line: string): void {
    if (this.fd !== undefined) {
      // One write per command, synced before the agent records it as done.
      writeSync(this.fd, line + "\n");
      fsyncSync(this.fd);
    } else {
      this.stream!.write(line + "\n");
    }
  }
}
