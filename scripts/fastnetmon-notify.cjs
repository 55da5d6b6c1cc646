#!/usr/bin/env node
/**
 * FastNetMon's notify script (notify_script_path), or any detector's: forwards each call to the
 * running victim daemon (`npx hardhat agent victim-daemon`) and prints its answer.
 *
 *   fastnetmon-notify <address> incoming|outgoing <pps> ban|unban|attack_details  < details
 *
 * The daemon is at $VICTIM_DAEMON_URL: http://127.0.0.1:9740 by default, or unix:/path/to.sock.
 * Exit code 0 when the daemon took the notification, 1 (with one sentence on standard error) when
 * it refused it or cannot be reached: then nothing is bought. Plain Node.js with no dependencies,
 * so that it starts in tens of milliseconds.
 */
"use strict";
const http = require("node:http");

const DEFAULT_URL = "http://127.0.0.1:9740";
const TIMEOUT_MS = Number(process.env.VICTIM_DAEMON_TIMEOUT_MS || 15000);

function fail(sentence) {
  process.stderr.write(sentence + "\n");
  process.exit(1);
}

/** Standard input, whole; none for unban (FastNetMon writes nothing) or from a terminal. */
function readDetails(action) {
  if (action === "unban" || process.stdin.isTTY) return Promise.resolve("");
  return new Promise((resolve) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function target(url) {
  if (url.startsWith("unix:")) return { socketPath: url.slice(5), path: "/notify" };
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    fail(`VICTIM_DAEMON_URL "${url}" is not a URL: give http://host:port or unix:/path/to.sock.`);
  }
  if (parsed.protocol !== "http:") fail(`VICTIM_DAEMON_URL "${url}" is not http:// or unix:.`);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: Number(parsed.port || 80), path: "/notify" };
}

async function main() {
  const args = process.argv.slice(2);
  const url = process.env.VICTIM_DAEMON_URL || DEFAULT_URL;
  const details = await readDetails(args[3]);
  const body = JSON.stringify({ args, details });
  const request = http.request({
    ...target(url),
    method: "POST",
    headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    timeout: TIMEOUT_MS,
  });
  request.on("timeout", () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
  request.on("error", (error) =>
    fail(`The victim daemon at ${url} is unreachable (${error.message}): nothing was bought.`),
  );
  request.on("response", (response) => {
    const chunks = [];
    response.on("data", (chunk) => chunks.push(chunk));
    response.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let answer;
      try {
        answer = JSON.parse(text);
      } catch {
        fail(`The victim daemon at ${url} answered ${response.statusCode} with no JSON: nothing was bought.`);
      }
      if (response.statusCode === 200 && answer.accepted) {
        process.stdout.write(answer.message + "\n");
        process.exit(0);
      }
      fail(String(answer.message || `The victim daemon at ${url} answered ${response.statusCode}.`));
    });
  });
  request.end(body);
}

main().catch((error) => fail(`The notification could not be sent: ${error.message}.`));
