import { expect } from "chai";

import { Remembered } from "../src/remembered";

describe("Remembered", function () {
  it("computes a key once, and again only after it was emptied at its limit", function () {
    const remembered = new Remembered<string, number>(2);
    let computed = 0;
    const square = (key: string) => (computed++, Number(key) ** 2);
    expect(remembered.get("3", square)).to.equal(9);
    expect(remembered.get("3", square)).to.equal(9);
    expect(computed).to.equal(1);
    remembered.get("4", square); // two kept: the limit
    remembered.get("5", square); // empties, then keeps 5 alone
    expect(computed).to.equal(3);
    remembered.get("3", square);
    expect(computed).to.equal(4);
  });

  it("keeps nothing when the computation throws", function () {
    const remembered = new Remembered<string, number>();
    let calls = 0;
    const fail = () => {
      calls++;
      throw new Error("not a number");
    };
    expect(() => remembered.get("x", fail)).to.throw("not a number");
    expect(() => remembered.get("x", fail)).to.throw("not a number");
    expect(calls).to.equal(2);
  });
});
