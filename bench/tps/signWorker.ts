/**
 * Worker thread that signs transactions: the private keys arrive once, then batches of unsigned
 * transactions with precomputed nonces; it answers with the raw transactions and their hashes.
 * Synchronous signing (Transaction + SigningKey, what Wallet.signTransaction does inside) keeps a
 * core busy without awaiting anything.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SigningKey, Transaction } from "ethers";

import type { SignContext, SignedTx, UnsignedTx } from "./signer";
import { serveJobs } from "./workerPool";

if (parentPort === null) throw new Error("signWorker.ts must run in a worker thread");
const keys = (workerData as { keys: string[] }).keys.map((key) => new SigningKey(key));

serveJobs<UnsignedTx, SignedTx>(parentPort, (txs, context) => {
  const { chainId, gasPrice } = context as SignContext;
  return txs.map((tx) => {
    const transaction = Transaction.from({
      type: 0,
      chainId,
      nonce: tx.nonce,
      gasPrice,
      gasLimit: tx.gasLimit,
      to: tx.to,
      data: tx.data,
      value: 0n,
    });
    transaction.signature = keys[tx.key].sign(transaction.unsignedHash);
    return { raw: transaction.serialized, hash: transaction.hash! };
  });
});
