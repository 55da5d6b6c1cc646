/**
 * sendAll against a scripted node: transactions the node drops are sent again, outstanding gas
 * stays within its bound, and a transaction left in the pool by a crashed run counts as sent.
 */
import { expect } from "chai";
import { SigningKey, Transaction, computeAddress, keccak256 } from "ethers";

import { Eip1193JsonRpc, KeySender, type JsonRpc } from "../../src/import/rpc";
import { sendAll, type ChainContext, type Op } from "../../src/import/send";

const KEY = new SigningKey("0x" + "11".repeat(32));
const SENDER = new KeySender(computeAddress(KEY.publicKey), KEY);

const TO = "0x000000000000000000000000000000000000dEaD";
const CONTEXT: ChainContext = { chainId: 31337n, nonce: 0, blockGasLimit: 30_000_000n, baseFee: 0n };

/**
 * A node that mines, on every nonce query, the transactions in its pool that have no gap before
 * them. It can silently drop a transaction it accepted (as anvil sometimes does), once or always.
 */
class ScriptedNode {
  /** The node as the importer reaches it: Eip1193JsonRpc answers a batch call by call. */
  readonly rpc: JsonRpc = new Eip1193JsonRpc({ request: ({ method, params }) => this.request(method, params ?? []) });
  readonly pool = new Map<number, string>();
  readonly receipts = new Map<string, { status: string; gasUsed: string }>();
  minedCount = 0;
  dropOnce = new Set<number>();
  dropAlways = new Set<number>();
  mostOutstanding = 0;

  request(method: string, params: unknown[]): Promise<unknown> {
    // A throw inside the executor becomes the rejection, as a node's error reply would.
    return new Promise((resolve) => resolve(this.answer(method, params)));
  }

  private answer(method: string, params: unknown[]): unknown {
    switch (method) {
      case "eth_sendRawTransaction": {
        const raw = params[0] as string;
        const tx = Transaction.from(raw);
        const hash = keccak256(raw);
        if (tx.nonce < this.minedCount) throw new Error("nonce too low");
        if (this.pool.get(tx.nonce) === hash) throw new Error("transaction already imported");
        if (this.dropOnce.delete(tx.nonce) || this.dropAlways.has(tx.nonce)) return hash;
        this.pool.set(tx.nonce, hash);
        this.mostOutstanding = Math.max(this.mostOutstanding, this.pool.size);
        return hash;
      }
      case "eth_getTransactionCount":
        while (this.pool.has(this.minedCount)) {
          this.receipts.set(this.pool.get(this.minedCount)!, { status: "0x1", gasUsed: "0x5208" });
          this.pool.delete(this.minedCount++);
        }
        return "0x" + this.minedCount.toString(16);
      case "eth_getTransactionReceipt":
        return this.receipts.get(params[0] as string) ?? null;
      case "eth_getTransactionByHash": {
        const hash = params[0] as string;
        return this.receipts.has(hash) || [...this.pool.values()].includes(hash) ? { hash } : null;
      }
      default:
        throw new Error(`unexpected ${method}`);
    }
  }
}

function ops(count: number, gasLimit = 100_000): Op[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: "batch" as const,
    data: "0x" + i.toString(16).padStart(8, "0"),
    gasLimit,
    weight: 1,
  }));
}

describe("import: sendAll", function () {
  it("sends again a transaction the node dropped, and every transaction is mined once", async function () {
    const node = new ScriptedNode();
    node.dropOnce.add(3);
    const events: { fromNonce: number; count: number }[] = [];
    const result = await sendAll(node.rpc, SENDER, TO, CONTEXT, ops(10), {
      window: 100,
      stallMs: 10,
      onRebroadcast: (event) => events.push(event),
    });
    expect(result.rebroadcast).to.equal(1);
    expect(events).to.deep.equal([{ fromNonce: 3, count: 1 }]);
    expect(node.minedCount).to.equal(10);
    expect(node.receipts.size).to.equal(10);
    expect(result.batchGas).to.equal(10n * 21_000n);
  });

  it("gives up with a clear error when the node keeps dropping a transaction", async function () {
    const node = new ScriptedNode();
    node.dropAlways.add(2);
    await sendAll(node.rpc, SENDER, TO, CONTEXT, ops(5), { window: 100, stallMs: 5, maxRebroadcasts: 2 }).then(
      () => expect.fail("sendAll succeeded"),
      (error: Error) =>
        expect(error.message).to.equal(
          "The node dropped transaction 2 (nonce 2) 3 times. 2 of 5 transactions were mined; run the import again to continue from the chain's state.",
        ),
    );
  });

  it("keeps the gas outstanding within maxPendingGas", async function () {
    const node = new ScriptedNode();
    // Nonce 0 arrives last: until it does, nothing is mined and the pool only grows.
    node.dropOnce.add(0);
    await sendAll(node.rpc, SENDER, TO, CONTEXT, ops(12, 100_000), {
      window: 100,
      maxPendingGas: 300_000,
      stallMs: 10,
    });
    expect(node.minedCount).to.equal(12);
    expect(node.mostOutstanding).to.be.at.most(3);
  });

  it("counts as sent a transaction the pool already holds from a crashed run", async function () {
    const node = new ScriptedNode();
    const planned = ops(4);
    // The crashed run sent nonce 2 and the node kept it; nonces 0 and 1 never arrived.
    const fees = { chainId: CONTEXT.chainId, maxFeePerGas: 1_000_000_000n, maxPriorityFeePerGas: 0n };
    const call = SENDER.submission({ to: TO, data: planned[2].data, nonce: 2, gasLimit: planned[2].gasLimit }, fees);
    await node.request(call.method, [...call.params]);
    const result = await sendAll(node.rpc, SENDER, TO, CONTEXT, planned, { window: 100, stallMs: 10 });
    expect(result.rebroadcast).to.equal(0);
    expect(node.minedCount).to.equal(4);
    expect(node.receipts.has(keccak256(call.params[0] as string))).to.equal(true);
  });
});
