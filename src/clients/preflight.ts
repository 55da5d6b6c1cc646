/**
 * A signer that estimates gas before sending. Hardhat's signers send without estimating, and
 * Hardhat networks then mine a transaction the contract refuses (nonce used, gas spent); this
 * signer surfaces the refusal as the estimate's error instead, so nothing is sent. Wrap a
 * NonceManager in it, not the other way round, so a refused call does not consume a nonce.
 *
 * Concurrent sends are simulated together but handed to the inner signer one at a time, in the
 * order their simulations finished: a NonceManager then gives out nonces in the order the
 * transactions reach the node, which an automining node requires (it queues no nonce ahead).
 */
import {
  AbstractSigner,
  BaseWallet,
  getBytes,
  JsonRpcApiProvider,
  NonceManager,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

import { signEip1559 } from "./rawTransaction";

/** The gas limit is the estimate plus estimate / 4 (25 %). */
const GAS_MARGIN_DIVISOR = 4n;

/** The gas limit a PreflightSigner gives a transaction whose estimate is `estimate`. */
export function gasLimitFor(estimate: bigint): bigint {
  return estimate + estimate / GAS_MARGIN_DIVISOR;
}

export class PreflightSigner extends AbstractSigner {
  /** The previous send's hand-over to the inner signer; the next one waits for it. */
  private sending: Promise<unknown> = Promise.resolve();

  constructor(readonly signer: Signer) {
    super(signer.provider);
  }

  connect(provider: Provider | null): PreflightSigner {
    return new PreflightSigner(this.signer.connect(provider));
  }

  getAddress(): Promise<string> {
    return this.signer.getAddress();
  }

  async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    if (tx.gasLimit !== undefined && tx.gasLimit !== null) return this.inOrder(tx);
    // Simulated against the latest block first: anvil estimates against its "pending" state,
    // which can lag a transaction it has just mined, and would let a refused call through.
    await this.signer.call({ ...tx, blockTag: "latest" });
    // A margin over the estimate: a transaction mined after another one changed the state it
    // touches can cost more than estimated (an escrow balance that went to zero costs a fresh
    // storage write to refill), and agents send while others do.
    const estimate = await this.signer.estimateGas(tx);
    return this.inOrder({ ...tx, gasLimit: gasLimitFor(estimate) });
  }

  /**
   * Resolves once every transaction handed over so far has reached the node (or failed): a nonce
   * manager may then be reset without a send in flight getting a nonce twice.
   */
  idle(): Promise<void> {
    return this.sending.then(() => undefined);
  }

  /**
   * Sends a call whose gas limit is known, in turn with the other sends, and resolves with its
   * hash. When the inner signer is a NonceManager over a private-key wallet on a JSON-RPC node,
   * the transaction is built, signed and hashed natively (src/clients/rawTransaction.ts): ethers'
   * pure-JavaScript path costs tens of milliseconds for a large calldata such as a settlement of
   * 200 orders. Otherwise the inner signer sends it.
   */
  sendCall(tx: { to: string; data: string; gasLimit: bigint | number }): Promise<{ hash: string }> {
    const native = nativeSigning(this.signer);
    if (native === undefined) return this.inOrder(tx);
    const sent = this.sending.then(async () => {
      const { nonces, key, provider } = native;
      const [network, block, priority] = await Promise.all([
        provider.getNetwork(),
        provider.send("eth_getBlockByNumber", ["latest", false]) as Promise<{ baseFeePerGas?: string } | null>,
        provider.send("eth_maxPriorityFeePerGas", []) as Promise<string>,
      ]);
      if (block?.baseFeePerGas === undefined) throw new Error("The node's latest block has no base fee (pre-London).");
      // As ethers' getFeeData: twice the base fee plus the tip, so a rising base fee still fits.
      const maxPriorityFeePerGas = BigInt(priority);
      const maxFeePerGas = 2n * BigInt(block.baseFeePerGas) + maxPriorityFeePerGas;
      const noncePromise = nonces.getNonce("pending");
      nonces.increment();
      const signed = signEip1559(
        {
          chainId: network.chainId,
          nonce: await noncePromise,
          maxPriorityFeePerGas,
          maxFeePerGas,
          gasLimit: BigInt(tx.gasLimit),
          to: tx.to,
          data: tx.data,
        },
        key,
      );
      await provider.send("eth_sendRawTransaction", [signed.raw]);
      return { hash: signed.hash };
    });
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  /** Hands `tx` to the inner signer once every earlier send has reached the node (or failed). */
  private inOrder(tx: TransactionRequest): Promise<TransactionResponse> {
    const sent = this.sending.then(() => this.signer.sendTransaction(tx));
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.signer.signTransaction(tx);
  }

  signMessage(message: string | Uint8Array): Promise<string> {
    return this.signer.signMessage(message);
  }

  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.signer.signTypedData(domain, types, value);
  }
}

/** The nonce manager, key and node of a NonceManager over a private-key wallet on a JSON-RPC node. */
function nativeSigning(
  signer: Signer,
): { nonces: NonceManager; key: Uint8Array; provider: JsonRpcApiProvider } | undefined {
  if (!(signer instanceof NonceManager)) return undefined;
  const wallet = signer.signer;
  if (!(wallet instanceof BaseWallet) || !(wallet.provider instanceof JsonRpcApiProvider)) return undefined;
  return { nonces: signer, key: getBytes(wallet.signingKey.privateKey), provider: wallet.provider };
}
