/**
 * The victims' side of the intake, as the benchmark plays it: signed orders POSTed to each
 * agent's endpoint over keep-alive HTTP connections (a pool per agent), one order per request or
 * `{"orders": [...]}` batches. Plain node:http: fetch costs several times more CPU per request.
 */
import { Agent, request } from "node:http";

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
  post(body: string): Promise<IntakeAnswer> {
    this.open++;
    return new Promise<IntakeAnswer>((resolve) => {
      const req = request(
        this.url,
        {
          method: "POST",
          agent: this.agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
              parsed = { error: "the answer is not JSON" };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on("error", (error) => resolve({ status: 0, body: { error: error.message } }));
        },
      );
      req.on("error", (error) => resolve({ status: 0, body: { error: error.message } }));
      req.end(body);
    }).finally(() => this.open--);
  }

  close(): void {
    this.agent.destroy();
  }
}
