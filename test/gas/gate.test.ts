import { expect } from "chai";

import { gateFailures } from "./gate";
import type { GasTable } from "./gate";

const TABLE: GasTable = {
  compiler: "solc",
  tolerance: 0.02,
  operations: { request: { gas: 100_000, target: 110_000, conditions: "" } },
};

describe("The gas gate", function () {
  it("passes a figure at most 2 % above the table", function () {
    expect(gateFailures(TABLE, "request", { gas: 102_000, target: 110_000, conditions: "" }, 0.02)).to.deep.equal([]);
    expect(gateFailures(TABLE, "request", { gas: 90_000, conditions: "" }, 0.02)).to.deep.equal([]);
  });

  it("fails a figure more than 2 % above the table, naming both figures", function () {
    const failures = gateFailures(TABLE, "request", { gas: 102_001, target: 110_000, conditions: "" }, 0.02);
    expect(failures).to.have.length(1);
    expect(failures[0]).to.contain("102001").and.to.contain("100000").and.to.contain("2 %");
  });

  it("fails a figure above its target, even within 2 % of the table", function () {
    const table: GasTable = { ...TABLE, operations: { request: { gas: 109_000, conditions: "" } } };
    const failures = gateFailures(table, "request", { gas: 110_500, target: 110_000, conditions: "" }, 0.02);
    expect(failures).to.deep.equal(["request: 110500 gas is above its target of 110000."]);
  });

  it("fails an operation missing from the table", function () {
    expect(gateFailures(TABLE, "settle", { gas: 1, conditions: "" }, 0.02)[0]).to.contain("not in docs/gas-table.json");
  });
});
