/**
 * The victims' side of the intake, as the benchmark plays it: signed orders POSTed to each
 * agent's endpoint over keep-alive HTTP connections (a pool per agent), one order per request or
 * `{"orders": [...]}` batches. Plain node:http: fetch costs several times more CPU per request.
 */
import { Agent } from "node:http";

import { postJson } from "../../../src/net";

export interface IntakeAnswer {
  status: number;
  body: unknown;
}

export class IntakeClient {
  private readonly agent: Agent;
  private readonly url: URL;
  /** Requests sent and not yet answered. */
  open = 0;

  constructor(url: string, connections: number) {
    this.url = new URL("/orders", url);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  /** POSTs a JSON body; resolves with the status and the parsed answer (status 0 when the request failed). */
  async post(body: string): Promise<IntakeAnswer> {
    this.open++;
    try {
      const { status, text } = await postJson(this.url, this.agent, body);
      try {
        return { status, body: JSON.parse(text) as unknown };
      } catch {
        return { status, body: { error: "the answer is not JSON" } };
      }
    } catch (error) {
      return { status: 0, body: { error: (error as Error).message } };
    } finally {
      this.open--;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
