/** A readable console report: headings, steps with gas and time, tables, and a summary. */
export class Report {
  private readonly started = Date.now();
  private totalGas = 0n;
  private transactions = 0;

  heading(text: string): void {
    console.log(`\n== ${text}`);
  }

  line(text: string): void {
    console.log(text);
  }

  record(step: string, gasUsed: bigint, transactions: number, ms?: number): void {
    this.totalGas += gasUsed;
    this.transactions += transactions;
    const gas = gasUsed > 0n ? `${gasUsed.toLocaleString("en-US")} gas` : "";
    const time = ms === undefined ? "" : `${ms} ms`;
    console.log(`  ✔ ${step}${gas || time ? `  [${[gas, time].filter(Boolean).join(", ")}]` : ""}`);
  }

  /** Runs a step and records its gas and time. */
  async step<T>(name: string, action: () => Promise<{ result: T; gasUsed?: bigint }>): Promise<T> {
    const t0 = Date.now();
    const { result, gasUsed } = await action();
    this.record(name, gasUsed ?? 0n, gasUsed ? 1 : 0, Date.now() - t0);
    return result;
  }

  table(header: string[], rows: string[][]): void {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const format = (cells: string[]) => "  " + cells.map((c, i) => c.padEnd(widths[i])).join("  ");
    console.log(format(header));
    console.log("  " + widths.map((w) => "-".repeat(w)).join("  "));
    for (const row of rows) console.log(format(row));
  }

  summary(): void {
    console.log(
      `\n${this.transactions} transactions, ${this.totalGas.toLocaleString("en-US")} gas in the steps above, ${Date.now() - this.started} ms in all.`,
    );
  }
}
