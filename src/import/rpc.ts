/** Signing and sending the importer's transactions, over the batched JSON-RPC of src/rpc.ts. */
import { Transaction, type SigningKey } from "ethers";

import type { RpcCall } from "../rpc";

export { Eip1193JsonRpc, HttpJsonRpc, batchAll, resultOf } from "../rpc";
export type { JsonRpc, RpcCall, RpcOutcome } from "../rpc";

/** A transaction before signing: the importer fixes nonce, gas and fees itself. */
export interface PlannedTx {
  to: string;
  data: string;
  nonce: number;
  gasLimit: number;
}

export interface FeeSettings {
  chainId: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** How transactions reach the node: signed here, or by the node for an account it manages. */
export interface TxSender {
  readonly address: string;
  /** The JSON-RPC call that submits `tx`. */
  submission(tx: PlannedTx, fees: FeeSettings): RpcCall;
}

/** Signs locally with a key and submits raw transactions. */
export class KeySender implements TxSender {
  constructor(
    readonly address: string,
    private readonly key: SigningKey,
  ) {}

  submission(tx: PlannedTx, fees: FeeSettings): RpcCall {
    const unsigned = Transaction.from({
      type: 2,
      chainId: fees.chainId,
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      gasLimit: tx.gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    unsigned.signature = this.key.sign(unsigned.unsignedHash);
    return { method: "eth_sendRawTransaction", params: [unsigned.serialized] };
  }
}

/** Lets the node sign, for an account it manages (anvil's and `hardhat node`'s dev accounts). */
export class NodeSender implements TxSender {
  constructor(readonly address: string) {}

  submission(tx: PlannedTx, fees: FeeSettings): RpcCall {
    const hex = (value: bigint | number): string => "0x" + value.toString(16);
    return {
      method: "eth_sendTransaction",
      params: [
        {
          from: this.address,
          to: tx.to,
          data: tx.data,
          nonce: hex(tx.nonce),
          gas: hex(tx.gasLimit),
          maxFeePerGas: hex(fees.maxFeePerGas),
          maxPriorityFeePerGas: hex(fees.maxPriorityFeePerGas),
        },
      ],
    };
  }
}
