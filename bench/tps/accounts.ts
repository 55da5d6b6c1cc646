/** The benchmark's own accounts: deterministic keys derived from a seed, by role. */
import { computeAddress, keccak256, toUtf8Bytes } from "ethers";

export interface BenchAccounts {
  /** All private keys; the indices below point into it (and into the signer pool). */
  keys: string[];
  addresses: string[];
  deployer: number;
  providers: number[];
  victims: number[];
  /** Senders of the ERC-20 baseline. */
  baseline: number[];
}

export function deriveAccounts(seed: string, providers: number, victims: number, baseline: number): BenchAccounts {
  const count = 1 + providers + victims + baseline;
  const keys = Array.from({ length: count }, (_, i) => keccak256(toUtf8Bytes(`${seed}/${i}`)));
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  return {
    keys,
    addresses: keys.map((key) => computeAddress(key)),
    deployer: 0,
    providers: range(1, providers),
    victims: range(1 + providers, victims),
    baseline: range(1 + providers + victims, baseline),
  };
}
