// solidity-coverage: `npm run coverage` (report) and `npm run coverage:check` (the CI gate, see
// scripts/check-coverage.ts). Both run the contracts' own tests (test/*.test.ts, test/hardening,
// test/import: package.json's --testfiles); the agents', detector's, DOTS and dashboard tests drive
// processes and anvil, and reach no contract line those do not.
module.exports = {
  // Test-only contracts are not production code: they are left out of the figures.
  skipFiles: ["mocks/"],
  // Left out under coverage: the gas tests (instrumented code costs more gas; they compare receipts
  // with targets and rewrite docs/gas.md), tests on anvil (a separate node: solidity-coverage only
  // sees the in-process Hardhat network, so they add minutes and no coverage), and the registry's
  // property tests (thousands of queries, minutes under instrumentation, no line or branch that the
  // unit and stateful tests do not reach). `npm test` runs them all.
  mocha: { grep: /\bgas\b|anvil|\(property, seed/i, invert: true, timeout: 600000 },
  // Instrumentation adds locals: let solidity-coverage set the Yul optimizer so that the
  // instrumented build (we compile without viaIR) cannot hit "stack too deep".
  configureYulOptimizer: true,
  istanbulReporter: ["html", "text", "json-summary", "json"],
};
