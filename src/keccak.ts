/**
 * Keccak-256 and checksummed addresses at the rate the order intake needs (about ten hashes per
 * order, thousands of orders a second). ethers' keccak is pure JavaScript, and the `keccak`
 * package's own interface builds a stream object per hash; its native addon, used directly, is
 * about seven times faster than either. Where the addon cannot load, ethers' keccak is used.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { getBytes, keccak256 as ethersKeccak256 } from "ethers";

/** The `keccak` package's native sponge (its `KeccakState`). */
interface Sponge {
  initialize(rate: number, capacity: number): void;
  absorb(data: Buffer): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Buffer;
}

function loadSponge(): Sponge | undefined {
  try {
    const root = path.dirname(require.resolve("keccak/package.json"));
    // The package loads its addon with node-gyp-build, one of its own dependencies.
    const build = createRequire(path.join(root, "index.js"))("node-gyp-build") as (dir: string) => unknown;
    const State = build(root) as new () => Sponge;
    return new State();
  } catch {
    return undefined;
  }
}

const sponge = loadSponge();

/** Keccak-256 of `data`, 32 bytes. */
export function keccak256Bytes(data: Uint8Array): Buffer {
  if (sponge === undefined) return Buffer.from(getBytes(ethersKeccak256(data)));
  // Keccak-256: rate 1088 bits, capacity 512, the original padding (suffix 0x01, not SHA-3's 0x06).
  sponge.initialize(1088, 512);
  sponge.absorb(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  sponge.absorbLastFewBits(0x01);
  return sponge.squeeze(32);
}

/** The EIP-55 checksummed form of a 20-byte address given as 40 hex digits (any case, no 0x). */
export function checksumHex(hex40: string): string {
  const lower = hex40.toLowerCase();
  const hash = keccak256Bytes(Buffer.from(lower, "ascii"));
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const c = lower[i];
    // The i-th nibble of the hash decides the case of the i-th hex digit.
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    out += nibble >= 8 && c >= "a" ? c.toUpperCase() : c;
  }
  return out;
}
