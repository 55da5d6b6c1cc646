/**
 * The gas gate: a measured figure against the committed table (at most `tolerance` above it) and
 * against its target, when it has one. Pure, so that its failures are tested on their own.
 */

/** One operation's figure, with the conditions it was measured in and its target, if any. */
export interface GasEntry {
  gas: number;
  /** The figure may never exceed this (an issue's or a design's bound). */
  target?: number;
  conditions: string;
}

export interface GasTable {
  compiler: string;
  tolerance: number;
  operations: Record<string, GasEntry>;
}

/** The sentences saying why `measured` for `operation` fails the gate; empty when it passes. */
export function gateFailures(
  committed: GasTable | undefined,
  operation: string,
  measured: GasEntry,
  tolerance: number,
): string[] {
  const failures: string[] = [];
  if (measured.target !== undefined && measured.gas > measured.target) {
    failures.push(`${operation}: ${measured.gas} gas is above its target of ${measured.target}.`);
  }
  const entry = committed?.operations[operation];
  if (entry === undefined) {
    failures.push(`"${operation}" is not in docs/gas-table.json: run UPDATE_GAS_TABLE=1 npm run gas:check.`);
  } else if (measured.gas > Math.floor(entry.gas * (1 + tolerance))) {
    failures.push(
      `${operation}: ${measured.gas} gas is more than ${tolerance * 100} % above the table's ${entry.gas}; ` +
        "explain the change and run UPDATE_GAS_TABLE=1 npm run gas:check.",
    );
  }
  return failures;
}

/** The markdown page of the table. */
export function gasTableMarkdown(table: GasTable): string {
  const gas = (n: number) => n.toLocaleString("en-US");
  const rows = Object.entries(table.operations).map(([operation, e]) => {
    const target = e.target === undefined ? "—" : `≤ ${gas(e.target)}`;
    return `| ${operation} | ${gas(e.gas)} | ${target} | ${e.conditions} |`;
  });
  return [
    "# Gas",
    "",
    "Every operation's `receipt.gasUsed` (after refunds, including the 21,000 of the transaction; for a",
    "view, the gas of an `eth_call` of it) on the Hardhat network, measured once by",
    "`test/gas/gasTable.test.ts`, which is part of `npm test`. A figure fails the suite when it exceeds",
    `its target, or rises more than ${table.tolerance * 100} % above [gas-table.json](gas-table.json). After a`,
    "deliberate change, `UPDATE_GAS_TABLE=1 npm run gas:check` rewrites both files: commit them with the",
    `change, and say why in its message. Compiler: ${table.compiler}.`,
    "",
    "| Operation | Gas used | Target | Conditions |",
    "| --- | ---: | ---: | --- |",
    ...rows,
    "",
  ].join("\n");
}
