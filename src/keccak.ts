/**
 * Keccak-256 with the native add-on of the `keccak` package, called directly: its public API wraps
 * each hash in a stream object, which costs more than hashing a few hundred bytes, and ethers'
 * pure-JavaScript keccak256 is ~10× slower still. For hot paths (order hashing and signer recovery
 * at thousands a second); elsewhere ethers' `keccak256` is fine.
 */
import path from "node:path";
import nodeGypBuild from "node-gyp-build";

interface KeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Buffer): void;
  squeeze(length: number): Buffer;
}

const KeccakState = nodeGypBuild(path.dirname(require.resolve("keccak/package.json"))) as new () => KeccakState;
const state = new KeccakState();

/** Keccak-256 of `data` (32 bytes). Synchronous; one state, re-initialised per call. */
export function keccak256Native(data: Buffer): Buffer {
  state.initialize(1088, 512);
  state.absorb(data);
  return state.squeeze(32);
}
