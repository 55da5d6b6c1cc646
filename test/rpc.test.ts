import { expect } from "chai";
import { createServer, type Server } from "node:http";

import { closeServer, listen, readBody, sendJson } from "../src/net";
import { HttpJsonRpc, call, revertDataOf, revertedWith, type JsonRpc, type RpcCall, type RpcOutcome } from "../src/rpc";

/** A node stand-in: answers JSON-RPC calls with their id, or holds them for ever when `mute`. */
async function node(mute: boolean): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    if (mute) return;
    readBody(request, 1 << 20, () => new Error("too large"))
      .then((body) => {
        const calls = JSON.parse(body) as { id: number }[] | { id: number };
        const answer = (c: { id: number }) => ({ jsonrpc: "2.0", id: c.id, result: `0x${c.id.toString(16)}` });
        sendJson(response, 200, Array.isArray(calls) ? calls.map(answer) : answer(calls));
      })
      .catch(() => response.destroy());
  });
  const port = await listen(server, 0, "127.0.0.1");
  return { url: `http://127.0.0.1:${port}`, server };
}

describe("HttpJsonRpc", function () {
  it("answers single calls and batches in order", async function () {
    const { url, server } = await node(false);
    try {
      const rpc = new HttpJsonRpc(url);
      expect(await rpc.request("eth_chainId", [])).to.equal("0x1");
      const outcomes = await rpc.batch([
        { method: "eth_blockNumber", params: [] },
        { method: "eth_chainId", params: [] },
      ]);
      expect(outcomes).to.deep.equal([
        { ok: true, result: "0x2" },
        { ok: true, result: "0x3" },
      ]);
    } finally {
      await closeServer(server, () => server.closeAllConnections());
    }
  });

  it("fails in one sentence when the node takes the call and never answers, instead of waiting for ever", async function () {
    const { url, server } = await node(true);
    try {
      const rpc = new HttpJsonRpc(url, 300);
      const started = Date.now();
      let message = "";
      await rpc.batch([{ method: "eth_blockNumber", params: [] }]).catch((error: Error) => (message = error.message));
      expect(message).to.equal(`The node at ${url} did not answer within 0.3 s.`);
      expect(Date.now() - started).to.be.lessThan(5_000);
    } finally {
      await closeServer(server, () => server.closeAllConnections());
    }
  });

  it("says the node's HTTP status, and posts again once when the node closed a kept connection", async function () {
    let seen = 0;
    let status = 200;
    const server = createServer((request, response) => {
      seen++;
      // The second post arrives on the kept connection: drop it unanswered, as a node's idle timeout would.
      if (seen === 2) return void request.socket.destroy();
      readBody(request, 1 << 20, () => new Error("too large"))
        .then((body) =>
          sendJson(response, status, { jsonrpc: "2.0", id: (JSON.parse(body) as { id: number }).id, result: "0x7" }),
        )
        .catch(() => response.destroy());
    });
    const url = `http://127.0.0.1:${await listen(server, 0, "127.0.0.1")}`;
    try {
      const rpc = new HttpJsonRpc(url);
      expect(await rpc.request("eth_chainId", [])).to.equal("0x7");
      expect(await rpc.request("eth_chainId", [])).to.equal("0x7");
      expect(seen).to.equal(3);
      status = 503;
      let message = "";
      await rpc.request("eth_chainId", []).catch((error: Error) => (message = error.message));
      expect(message).to.equal(`The node at ${url} answered HTTP 503.`);
    } finally {
      await closeServer(server, () => server.closeAllConnections());
    }
    let refused = "";
    await new HttpJsonRpc(url).request("eth_chainId", []).catch((error: Error) => (refused = error.message));
    expect(refused).to.match(new RegExp(`^The node at ${url} did not answer \\(.*ECONNREFUSED.*\\)\\.$`));
    expect(() => new HttpJsonRpc("ws://127.0.0.1:8545")).to.throw(
      "The node's URL ws://127.0.0.1:8545 is not http:// or https://.",
    );
  });

  it("asks a single call again when it raced a pruned state (anvil's BlockOutOfRangeError)", async function () {
    let asked = 0;
    const racing: JsonRpc = {
      request: () => Promise.reject(new Error("unused")),
      batch: (calls: readonly RpcCall[]): Promise<RpcOutcome[]> =>
        Promise.resolve(
          calls.map(() =>
            ++asked === 1
              ? { ok: false, error: "BlockOutOfRangeError: block height is 132 but requested was 131" }
              : { ok: true, result: "0x2a" },
          ),
        ),
    };
    expect(await call<string>(racing, "eth_call", [])).to.equal("0x2a");
    expect(asked).to.equal(2);
  });
});

describe("revertedWith", function () {
  const unknown = { name: "ProviderServiceUnknownRequest", selector: "0xe2d90091" };
  const id = "00".repeat(31) + "07";

  it("reads the revert data when the node gives it, whatever the message says", function () {
    expect(revertedWith({ ok: false, error: "execution reverted", data: `0xE2D90091${id}` }, unknown)).to.equal(true);
    expect(revertedWith({ ok: false, error: "custom error 0xe2d90091", data: `0x3ee5aeb5${id}` }, unknown)).to.equal(
      false,
    );
  });

  it("finds the error in the message where a node only quotes it there (anvil, Hardhat)", function () {
    expect(revertedWith({ ok: false, error: `execution reverted: custom error 0xe2d90091: ${id}` }, unknown)).to.equal(
      true,
    );
    expect(
      revertedWith({ ok: false, error: "reverted with custom error 'ProviderServiceUnknownRequest(7)'" }, unknown),
    ).to.equal(true);
    expect(
      revertedWith({ ok: false, error: "reverted with custom error 'ProviderServiceWrongStatus(7, 2)'" }, unknown),
    ).to.equal(false);
    expect(revertedWith({ ok: false, error: "connection refused" }, unknown)).to.equal(false);
    expect(revertedWith({ ok: true }, unknown)).to.equal(false);
  });
});

describe("revertDataOf", function () {
  const data = "0xe2d90091" + "00".repeat(31) + "07";

  it("finds the revert data where ethers and Hardhat put it: data, data.data, or the message", function () {
    expect(revertDataOf({ message: "execution reverted", data })).to.equal(data);
    expect(revertDataOf({ message: "execution reverted", data: { message: "inner", data } })).to.equal(data);
    expect(
      revertDataOf({ message: `Transaction reverted without a reason string and return data: ${data}`, data: {} }),
    ).to.equal(data);
  });

  it("is undefined when the error carries none", function () {
    expect(revertDataOf({ message: "connection refused" })).to.equal(undefined);
    expect(revertDataOf(new Error("timeout"))).to.equal(undefined);
    expect(revertDataOf(undefined)).to.equal(undefined);
  });
});
