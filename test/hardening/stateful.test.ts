/**
 * Stateful property test: seeded random sequences of register / allocate / delegate / revoke /
 * suspend / reinstate / mint / offer / request / requestMany / acknowledge / reject / reclaim /
 * withdraw by random actors, honest and not, each compared with the MarketModel (the exact custom
 * error of every refusal, the effects of every success). After every step: token conservation,
 * every service's balance equal to its open escrows, the registry's answers equal to the model's,
 * every request as the model has it; after every sequence, no request settled twice.
 *
 * CI runs HARDENING_SEQUENCES (default 300, about 50 s; 8 under solidity-coverage, where each
 * costs ~5 s) sequences of HARDENING_STEPS (default 16) steps from HARDENING_SEED; `npm run soak`
 * runs ten thousand and more. A failure names the seed of its sequence and the steps that led to it.
 */
import { expect } from "chai";
import hre from "hardhat";

import { describeStats, runSequences } from "./runner";

/** Under solidity-coverage every opcode is counted: fewer sequences cover the same paths. */
const UNDER_COVERAGE = Reflect.get(hre, "__SOLIDITY_COVERAGE_RUNNING") === true;
const SEQUENCES = Number(process.env.HARDENING_SEQUENCES ?? (UNDER_COVERAGE ? 8 : 300));
const STEPS = Number(process.env.HARDENING_STEPS ?? 16);
const SEED = Number(process.env.HARDENING_SEED ?? 0x0ddba11);

describe("Hardening: random action sequences against the model", function () {
  it(`keeps every invariant over ${SEQUENCES} sequences of ${STEPS} steps`, async function () {
    this.timeout(0);
    const started = Date.now();
    const stats = await runSequences({ seed: SEED, sequences: SEQUENCES, steps: STEPS });
    console.log(`      ${describeStats(stats).replace(/\n/g, "\n      ")}\n      (${Date.now() - started} ms)`);
    expect(stats.steps).to.equal(SEQUENCES * STEPS);
    // The sequences must exercise the paths that matter, not only refusals.
    expect(stats.requestsAccepted, "accepted requests").to.be.greaterThan(0);
    expect(stats.ownershipRefusals, "ownership refusals").to.be.greaterThan(0);
    // Enough sequences reach every outcome that matters (the CI default does; a short run may not).
    if (SEQUENCES >= 100) {
      for (const action of ["acknowledge", "reject", "reclaim", "withdraw", "delegate", "revoke", "suspend"]) {
        expect(stats.actions.get(action) ?? 0, `successful ${action}`).to.be.greaterThan(0);
      }
    }
  });
});
