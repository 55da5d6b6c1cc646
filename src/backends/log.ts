/**
 * The log back end: enforces nothing, writes the rules it would install and remove. The demo's
 * default, and the reference the other back ends are tested against. Its rule set lives in memory.
 */
import { describeRule, RuleSet } from "./rules";
import type { FlowRule, MitigationBackend } from "./types";

export class LogBackend implements MitigationBackend {
  readonly name = "log";
  private readonly rules = new RuleSet();

  /** `write` receives one line per change; by default, nothing is written. */
  constructor(private readonly write: (line: string) => void = () => undefined) {}

  install(rule: FlowRule): Promise<void> {
    if (this.rules.install(rule)) this.write(`install ${describeRule(rule)}`);
    return Promise.resolve();
  }

  remove(rule: FlowRule): Promise<void> {
    if (this.rules.remove(rule)) this.write(`remove  ${describeRule(rule)}`);
    return Promise.resolve();
  }

  list(): Promise<FlowRule[]> {
    return Promise.resolve(this.rules.list());
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
