#!/usr/bin/env node
/**
 * The bridge between the provider agent's ExaBGP back end and ExaBGP. ExaBGP reads API commands
 * from the standard output of the processes it runs; the agent appends its commands, one line
 * each, synced, to a command file (`--exabgp-output`). This bridge, run by ExaBGP, replays that
 * file from its start (so a restarted ExaBGP announces again exactly what is in force) and then
 * follows it, writing every complete line to its standard output, flushed, as it is appended.
 *
 *   exabgp.conf:  process market { run /usr/bin/node /opt/market/scripts/exabgp-bridge.cjs /var/lib/market/exabgp.cmd;
 *                                  encoder text; }
 *
 * ExaBGP answers each command on the bridge's standard input ("done" or "error"); errors are
 * written to standard error, which ExaBGP logs. The bridge exits when ExaBGP closes its input.
 */
"use strict";
const fs = require("node:fs");

const file = process.argv[2];
if (!file) {
  process.stderr.write("exabgp-bridge: give the command file the provider agent appends to.\n");
  process.exit(1);
}

/** How often the file is looked at when no change notification comes (ms). */
const POLL_MS = Number(process.env.EXABGP_BRIDGE_POLL_MS || 200);

let offset = 0;
let partial = "";
let reading = false;

/** Writes every complete line appended since the last look; a partial last line waits. */
function pump() {
  if (reading) return;
  reading = true;
  try {
    let fd;
    try {
      fd = fs.openSync(file, "r");
    } catch {
      return; // not created yet: the agent creates it when it starts
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < offset) {
        // The file was replaced or truncated: replay it from the start.
        offset = 0;
        partial = "";
      }
      while (offset < size) {
        const chunk = Buffer.alloc(Math.min(size - offset, 1 << 16));
        const read = fs.readSync(fd, chunk, 0, chunk.length, offset);
        if (read === 0) break;
        offset += read;
        partial += chunk.subarray(0, read).toString("utf8");
        let newline;
        while ((newline = partial.indexOf("\n")) >= 0) {
          const line = partial.slice(0, newline).trim();
          partial = partial.slice(newline + 1);
          // One write per command: a pipe write from a synchronous call is flushed at once.
          if (line !== "") fs.writeSync(1, line + "\n");
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    reading = false;
  }
}

function watch() {
  try {
    fs.watch(file, { persistent: true }, () => pump()).on("error", () => undefined);
  } catch {
    setTimeout(watch, POLL_MS); // not there yet
  }
}

process.stdin.setEncoding("utf8");
let answers = "";
process.stdin.on("data", (text) => {
  answers += text;
  let newline;
  while ((newline = answers.indexOf("\n")) >= 0) {
    const answer = answers.slice(0, newline).trim();
    answers = answers.slice(newline + 1);
    if (answer !== "" && answer !== "done") process.stderr.write(`exabgp-bridge: ExaBGP answered "${answer}"\n`);
  }
});
process.stdin.on("end", () => process.exit(0));

pump();
watch();
setInterval(pump, POLL_MS);
