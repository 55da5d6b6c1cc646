import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";

import { OperatorError, explained } from "../errors";

/**
 * Sends a transaction and waits for its receipt. Contract errors become one sentence; because
 * ethers estimates gas first, a call the contract would refuse is never sent.
 */
export async function send(
  transaction: () => Promise<ContractTransactionResponse>,
  confirmations = 1,
): Promise<ContractTransactionReceipt> {
  return explained(async () => {
    const response = await transaction();
    const receipt = await response.wait(confirmations);
    if (receipt === null) throw new OperatorError(`Transaction ${response.hash} was dropped.`);
    return receipt;
  });
}
