/** The payment token, in operator terms: decimal amounts and addresses. */
import type { ContractTransactionReceipt } from "ethers";

import type { MitigationToken } from "../../typechain-types";
import { explained } from "../errors";
import { parseTokens } from "../format";
import { parseAccount } from "./registry";
import { send } from "./tx";

export class TokenClient {
  constructor(readonly token: MitigationToken) {}

  mint(to: string, amount: string | bigint): Promise<ContractTransactionReceipt> {
    const who = parseAccount(to, "recipient");
    const value = typeof amount === "bigint" ? amount : parseTokens(amount);
    return send(() => this.token.mint(who, value));
  }

  approve(spender: string, amount: string | bigint): Promise<ContractTransactionReceipt> {
    const who = parseAccount(spender, "spender");
    const value = typeof amount === "bigint" ? amount : parseTokens(amount);
    return send(() => this.token.approve(who, value));
  }

  balanceOf(account: string): Promise<bigint> {
    const who = parseAccount(account);
    return explained(() => this.token.balanceOf(who));
  }

  allowance(owner: string, spender: string): Promise<bigint> {
    const o = parseAccount(owner, "owner");
    const s = parseAccount(spender, "spender");
    return explained(() => this.token.allowance(o, s));
  }

  symbol(): Promise<string> {
    return explained(() => this.token.symbol());
  }
}
