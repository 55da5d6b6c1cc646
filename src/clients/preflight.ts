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
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

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
   * Runs `send` with the inner signer once every earlier send has reached the node (or failed),
   * and holds later sends until it has: for a caller that signs and sends by other means
   * (src/clients/nativeSend.ts) and must keep the nonce order.
   */
  inTurn<T>(send: (inner: Signer) => Promise<T>): Promise<T> {
    const sent = this.sending.then(() => send(this.signer));
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  /** Hands `tx` to the inner signer once every earlier send has reached the node (or failed). */
  private inOrder(tx: TransactionRequest): Promise<TransactionResponse> {
    return this.inTurn((inner) => inner.sendTransaction(tx));
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
