/**
 * Stateful property test: seeded random sequences of register / allocate / delegate / revoke /
 * suspend / reinstate / mint / approve / transfer / offer / request / requestMany / acknowledge /
 * reject / reclaim / withdraw / reportStatus / rate by random actors, honest and not, mixed with
 * signed orders (signed well or badly, waiting while allowances, balances, holdings and standing
 * change, cancelled one by one or below a salt, settled in batches with replays and duplicates),
 * each compared with the MarketModel (the exact custom error of every refusal, the effects of
 * every success, what became of every order of a batch, in its logs). After every step: token
 * conservation, every balance and allowance as the model has it, every service's balance equal
 * to its open escrows (an order never passes through one), the registry's answers equal to the
 * model's, every request and settled order as the model has it; at the end of every sequence,
 * every escrow left is reclaimed (nothing stuck), and from the events no request and no order was
 * settled twice.
 *
 * CI runs HARDENING_SEQUENCES (default 250, about 1.5 min on a quiet machine; 8 under
 * solidity-coverage, where each costs ~5 s) sequences of HARDENING_STEPS (default 16) steps from
 * HARDENING_SEED; `npm run soak` runs ten thousand and more. A failure names the seed of its
 * sequence and the steps that led to it.
 */
import { expect } from "chai";
import hre from "hardhat";

import { describeStats, runSequences } from "./runner";

/** Under solidity-coverage every opcode is counted: fewer sequences cover the same paths. */
const UNDER_COVERAGE = Reflect.get(hre, "__SOLIDITY_COVERAGE_RUNNING") === true;
const SEQUENCES = Number(process.env.HARDENING_SEQUENCES ?? (UNDER_COVERAGE ? 8 : 250));
const STEPS = Number(process.env.HARDENING_STEPS ?? 16);
const SEED = Number(process.env.HARDENING_SEED ?? 0x0ddba11);

describe("Hardening: random action sequences against the model", function () {
  it(`keeps every invariant over ${SEQUENCES} sequences of ${STEPS} steps, direct requests and signed orders mixed`, async function () {
    this.timeout(0);
    const started = Date.now();
    const stats = await runSequences({ seed: SEED, sequences: SEQUENCES, steps: STEPS });
    console.log(`      ${describeStats(stats).replace(/\n/g, "\n      ")}\n      (${Date.now() - started} ms)`);
    expect(stats.steps).to.equal(SEQUENCES * STEPS);
    // The sequences must exercise the paths that matter, not only refusals.
    expect(stats.requestsAccepted, "accepted requests").to.be.greaterThan(0);
    expect(stats.ownershipRefusals, "ownership refusals").to.be.greaterThan(0);
    expect(stats.ordersSettled, "settled orders").to.be.greaterThan(0);
    // Enough sequences reach every outcome that matters (the CI default does; a short run may not).
    if (SEQUENCES >= 100) {
      const actions = ["acknowledge", "reject", "reclaim", "withdraw", "delegate", "revoke", "suspend"];
      // On mitigations that signed orders started, as on acknowledged requests.
      actions.push("withdraw (order)", "reportStatus (order)", "rate (order)", "rate", "cancelOrder");
      actions.push("cancelOrdersUpTo", "reclaimAtEnd");
      for (const action of actions) {
        expect(stats.actions.get(action) ?? 0, `successful ${action}`).to.be.greaterThan(0);
      }
      // Orders skipped for each way an order goes bad between signing and settlement.
      const skips = ["AlreadySettled", "Expired", "Cancelled", "CancelledUpTo", "PaymentFailed", "NotWhollyHeld"];
      skips.push("InactiveRequester", "BadSignature", "WrongService");
      for (const reason of skips) {
        expect(stats.orderSkips.get(reason) ?? 0, `orders skipped as ${reason}`).to.be.greaterThan(0);
      }
    }
  });
});
