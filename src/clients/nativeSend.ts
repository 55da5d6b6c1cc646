/**
 * Sending a call whose gas limit is known, signed natively (src/clients/rawTransaction.ts) where
 * the signer holds its key: ethers' pure-JavaScript path costs tens of milliseconds for a large
 * calldata such as a settlement of 200 orders. Node.js only (native addons); the browser never sends.
 */
import { BaseWallet, JsonRpcApiProvider, NonceManager, getBytes, type Signer } from "ethers";

import type { JsonRpc } from "../rpc";
import { PreflightSigner } from "./preflight";
import { signEip1559 } from "./rawTransaction";

/** A call to send: its recipient, calldata and gas limit. */
export interface CallToSend {
  to: string;
  data: string;
  gasLimit: bigint | number;
}

/**
 * Sends `tx` and resolves with its hash. A PreflightSigner over a NonceManager over a private-key
 * wallet on a JSON-RPC node signs it natively, in turn with its other sends and with a nonce from
 * the same manager; any other signer sends it through ethers. Give `rpc` (an HttpJsonRpc to the
 * same node) to send the signed transaction straight: ethers' provider encodes a request body to
 * UTF-8 in JavaScript, ~20 ms for the 200 kB of a settlement of 180 orders.
 */
export async function sendCall(signer: Signer, tx: CallToSend, rpc?: JsonRpc): Promise<{ hash: string }> {
  if (!(signer instanceof PreflightSigner)) return signer.sendTransaction(tx);
  return signer.inTurn(async (inner) => {
    const native = nativeSigning(inner);
    if (native === undefined) return inner.sendTransaction(tx);
    const { nonces, key, provider } = native;
    const send = (method: string, params: unknown[]) =>
      rpc === undefined ? provider.send(method, params) : rpc.request(method, params);
    const [network, block, priority] = await Promise.all([
      provider.getNetwork(),
      send("eth_getBlockByNumber", ["latest", false]) as Promise<{ baseFeePerGas?: string } | null>,
      send("eth_maxPriorityFeePerGas", []) as Promise<string>,
    ]);
    if (block?.baseFeePerGas === undefined) return inner.sendTransaction(tx);
    // As ethers' getFeeData: twice the base fee plus the tip, so that a rising base fee still fits.
    const maxPriorityFeePerGas = BigInt(priority);
    const maxFeePerGas = 2n * BigInt(block.baseFeePerGas) + maxPriorityFeePerGas;
    // As NonceManager.sendTransaction: the nonce is taken before the send; a failed send leaves
    // the manager to be reset by its owner.
    const nonce = nonces.getNonce("pending");
    nonces.increment();
    const signed = signEip1559(
      {
        chainId: network.chainId,
        nonce: await nonce,
        maxPriorityFeePerGas,
        maxFeePerGas,
        gasLimit: BigInt(tx.gasLimit),
        to: tx.to,
        data: tx.data,
      },
      key,
    );
    await send("eth_sendRawTransaction", [signed.raw]);
    return { hash: signed.hash };
  });
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
