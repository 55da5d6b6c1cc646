/**
 * The fast order hashing and signing (hand-made EIP-712 encoding over the native keccak, native
 * secp256k1) give exactly what ethers' generic encoder and `signTypedData` give.
 */
import { expect } from "chai";
import { Wallet, getAddress } from "ethers";

import {
  hashOrder,
  hashOrderReference,
  recoverOrderSigner,
  signOrder,
  signOrderWithKey,
  type Order,
} from "../../src/clients/orders";
import { mask, type Prefix } from "../../src/prefix";
import { Random } from "../helpers/random";

function randomPrefix(random: Random): Prefix {
  const length = random.int(129);
  return { network: random.bits(128) & mask(length), length };
}

function randomOrder(random: Random, requester: string): Order {
  return {
    service: getAddress(
      "0x" + random.bits(128).toString(16).padStart(32, "0") + random.next().toString(16).padStart(8, "0"),
    ),
    requester,
    offeringId: random.next(),
    target: randomPrefix(random),
    sources: Array.from({ length: random.int(6) }, () => randomPrefix(random)),
    duration: random.next(),
    maxPrice: random.bits(96),
    expiry: random.int(2 ** 40),
    salt: (random.bits(128) << 128n) | random.bits(128),
  };
}

describe("orders (TypeScript)", function () {
  const random = new Random(13);
  const wallet = new Wallet("0x" + "11".repeat(32));
  const key = Buffer.from(wallet.privateKey.slice(2), "hex");

  describe("#hashOrder", function () {
    it("equals ethers' EIP-712 encoder on random orders (IPv4, IPv6, 0 to 5 sources, extreme values)", function () {
      for (let i = 0; i < 200; i++) {
        const order = randomOrder(random, wallet.address);
        const chainId = i % 2 === 0 ? 31337n : BigInt(random.next());
        expect(hashOrder(order, chainId), `order ${i}`).to.equal(hashOrderReference(order, chainId));
      }
    });
  });

  describe("#signOrderWithKey", function () {
    it("gives the signature signOrder gives, and recoverOrderSigner names the signer", async function () {
      for (let i = 0; i < 20; i++) {
        const order = randomOrder(random, wallet.address);
        const fast = signOrderWithKey(key, order, 31337n);
        expect(fast.signature).to.equal((await signOrder(wallet, order, 31337n)).signature);
        expect(recoverOrderSigner(hashOrder(order, 31337n), fast.signature)).to.equal(wallet.address);
      }
    });

    it("is recovered as another signer when the order changed after signing", function () {
      const order = randomOrder(random, wallet.address);
      const { signature } = signOrderWithKey(key, order, 31337n);
      const changed = { ...order, salt: order.salt + 1n };
      expect(recoverOrderSigner(hashOrder(changed, 31337n), signature)).to.not.equal(wallet.address);
    });
  });
});
