/**
 * A TCP proxy in front of the node that can cut its clients off (an RPC outage): while cut, every
 * connection is reset and new ones are refused at once. It keeps its port, so nothing else can take
 * it during the outage.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export class Outage {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private cut = false;
  port = 0;
  constructor(private readonly target: number) {}

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server = createServer((client) => {
        if (this.cut) {
          client.destroy();
          return;
        }
        const upstream = connect(this.target, "127.0.0.1");
        for (const s of [client, upstream]) {
          this.sockets.add(s);
          s.on("close", () => this.sockets.delete(s));
          s.on("error", () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => {
        const address = this.server!.address();
        this.port = typeof address === "object" && address !== null ? address.port : 0;
        resolve();
      });
    });
  }

  /** Whether the clients are cut off now. */
  get down(): boolean {
    return this.cut;
  }

  cutOff(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  close(): Promise<void> {
    this.cutOff();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
