/** `npx hardhat token <task>`: mint, balances and allowances of the payment token. */
import { scope, types } from "hardhat/config";

import { parseAccount } from "../src/clients/registry";
import { formatTokens, parseTokens } from "../src/format";
import { operator, operatorAction, operatorTask, txInfo, txText, type CommonArgs } from "./lib";

const token = scope("token", "The payment token");

operatorTask(token, "mint", "Mints tokens to an account (minter only)")
  .addOptionalParam("to", "The recipient", undefined, types.string)
  .addOptionalParam("amount", "Tokens, e.g. 100 or 2.5", undefined, types.string)
  .setAction(
    operatorAction(["to", "amount"], async (args: CommonArgs & { to: string; amount: string }, hre) => {
      const to = parseAccount(args.to, "recipient");
      const amount = parseTokens(args.amount);
      const op = await operator(hre, args.from);
      const receipt = await op.token.mint(to, amount);
      const balance = await op.token.balanceOf(to);
      return {
        data: { to, amount, balance, ...txInfo(receipt) },
        text: `Minted ${formatTokens(amount)} to ${to}; its balance is now ${formatTokens(balance)}${txText(receipt)}.`,
      };
    }),
  );

operatorTask(token, "balance", "Shows an account's balance")
  .addOptionalParam("account", "The account (default: --from)", undefined, types.string)
  .setAction(
    operatorAction(async (args: CommonArgs & { account?: string }, hre) => {
      if (args.account !== undefined) parseAccount(args.account);
      const op = await operator(hre, args.from);
      const account = args.account === undefined ? op.address : parseAccount(args.account);
      const balance = await op.token.balanceOf(account);
      return { data: { account, balance }, text: `${account} has ${formatTokens(balance)}.` };
    }),
  );

operatorTask(token, "approve", "Allows a spender (a service or the directory) to take tokens from the caller")
  .addOptionalParam("spender", "The spender", undefined, types.string)
  .addOptionalParam("amount", "Tokens, e.g. 100 or 2.5", undefined, types.string)
  .setAction(
    operatorAction(["spender", "amount"], async (args: CommonArgs & { spender: string; amount: string }, hre) => {
      const spender = parseAccount(args.spender, "spender");
      const amount = parseTokens(args.amount);
      const op = await operator(hre, args.from);
      const receipt = await op.token.approve(spender, amount);
      return {
        data: { owner: op.address, spender, amount, ...txInfo(receipt) },
        text: `${op.address} allows ${spender} to spend ${formatTokens(amount)}${txText(receipt)}.`,
      };
    }),
  );
