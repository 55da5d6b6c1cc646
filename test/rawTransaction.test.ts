/**
 * Native EIP-1559 transactions (src/clients/rawTransaction.ts) give byte for byte what ethers'
 * Wallet signs, and a PreflightSigner's `sendCall` sends them in nonce order with ethers' own sends.
 */
import { expect } from "chai";
import { Transaction, Wallet, hexlify, randomBytes, getBytes, keccak256, Interface } from "ethers";

import { sendCall } from "../src/clients/nativeSend";
import { encodeRlp, signEip1559, type Eip1559Fields } from "../src/clients/rawTransaction";
import { anvilWallet, startTestAnvil, type TestAnvil } from "./helpers/anvil";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

function viaEthers(fields: Eip1559Fields): Promise<string> {
  return new Wallet(KEY).signTransaction({ type: 2, ...fields, value: fields.value ?? 0n, accessList: [] });
}

describe("native EIP-1559 transactions", function () {
  const base: Eip1559Fields = {
    chainId: 31337n,
    nonce: 7,
    maxPriorityFeePerGas: 1_000_000_000n,
    maxFeePerGas: 3_000_000_000n,
    gasLimit: 12_345_678n,
    to: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    data: "0x",
  };

  const cases: [string, Partial<Eip1559Fields>][] = [
    ["empty calldata, nonce and value zero", { nonce: 0, value: 0n }],
    ["one byte of calldata under 0x80 (RLP's single-byte form)", { data: "0x7f" }],
    ["55 and 56 bytes of calldata (RLP's short and long forms)", { data: hexlify(randomBytes(55)) }],
    ["56 bytes", { data: hexlify(randomBytes(56)) }],
    ["a settlement-sized calldata of 140 kB and a value", { data: hexlify(randomBytes(140_000)), value: 10n ** 18n }],
    ["a large chain id and nonce", { chainId: 2n ** 40n + 3n, nonce: 2 ** 31 }],
  ];
  for (const [name, change] of cases) {
    it(`signs as ethers does: ${name}`, async function () {
      const fields = { ...base, ...change };
      const signed = signEip1559(fields, getBytes(KEY));
      expect(signed.raw).to.equal(await viaEthers(fields));
      const parsed = Transaction.from(signed.raw);
      expect(signed.hash).to.equal(parsed.hash);
      expect(parsed.from).to.equal(new Wallet(KEY).address);
      expect(parsed.data).to.equal(fields.data);
    });
  }

  it("encodes RLP lists and lengths over 55 bytes as the yellow paper does", function () {
    expect(encodeRlp([]).toString("hex")).to.equal("c0");
    expect(encodeRlp(Buffer.alloc(0)).toString("hex")).to.equal("80");
    expect(encodeRlp(Buffer.from("dog")).toString("hex")).to.equal("83646f67");
    const long = Buffer.alloc(1024, 1);
    expect(encodeRlp(long).subarray(0, 3).toString("hex")).to.equal("b90400");
  });

  it("refuses a recipient that is not an address and calldata that is not whole bytes", function () {
    expect(() => signEip1559({ ...base, to: "0x1234" }, getBytes(KEY))).to.throw(/not an address/);
    expect(() => signEip1559({ ...base, data: "0xabc" }, getBytes(KEY))).to.throw(/whole bytes/);
  });

  describe("sent by a PreflightSigner over a key on anvil", function () {
    this.timeout(60_000);
    let node: TestAnvil | null;

    before(async function () {
      node = await startTestAnvil();
      if (node === null) this.skip();
    });

    after(() => node?.stop());

    it("sends natively, in nonce order with the signer's ethers sends, and the node mines both", async function () {
      const signer = anvilWallet(node!.provider, 3);
      const to = await anvilWallet(node!.provider, 4).getAddress();
      const account = await signer.getAddress();
      // Asked of the node each time (ethers caches an identical read for a moment).
      const count = async () => Number(await node!.provider.send("eth_getTransactionCount", [account, "latest"]));
      const before = await count();
      // A call to an account without code succeeds: data is carried, nothing runs.
      const data = new Interface(["function ping(bytes)"]).encodeFunctionData("ping", [randomBytes(2_000)]);
      const [native, viaEthersSend] = await Promise.all([
        sendCall(signer, { to, data, gasLimit: 200_000n }),
        signer.sendTransaction({ to, value: 1n }),
      ]);
      const receipt = await node!.provider.waitForTransaction(native.hash);
      expect(receipt?.status).to.equal(1);
      expect((await viaEthersSend.wait())?.status).to.equal(1);
      const mined = await node!.provider.getTransaction(native.hash);
      expect(mined?.nonce).to.equal(before);
      expect(keccak256(mined!.data)).to.equal(keccak256(data));
      expect(await count()).to.equal(before + 2);
    });
  });
});
