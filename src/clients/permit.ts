/** ERC-2612 permits for the MitigationToken: one signature instead of an approval transaction. */
import { Signature, type Provider, type Signer, type TypedDataDomain } from "ethers";

import type { MitigationToken } from "../../typechain-types";

export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export interface PermitValues {
  /** Defaults to the signer. */
  owner?: string;
  spender: string;
  value: bigint;
  /** Unix time after which the permit is void. */
  deadline: bigint;
  /** Defaults to the owner's current nonce on the token. */
  nonce?: bigint;
}

/** The EIP-712 domain of the token's permits: its name, version 1, the chain, the token. */
export async function permitDomain(token: MitigationToken, provider: Provider): Promise<TypedDataDomain> {
  const [name, network, verifyingContract] = await Promise.all([
    token.name(),
    provider.getNetwork(),
    token.getAddress(),
  ]);
  return { name, version: "1", chainId: network.chainId, verifyingContract };
}

/** `signer` signs a permit letting `spender` take `value` of the owner's tokens until `deadline`. */
export async function signPermit(token: MitigationToken, signer: Signer, values: PermitValues): Promise<Signature> {
  if (!signer.provider) throw new Error("The signer needs a provider to sign a permit.");
  const owner = values.owner ?? (await signer.getAddress());
  const [domain, nonce] = await Promise.all([
    permitDomain(token, signer.provider),
    values.nonce ?? token.nonces(owner),
  ]);
  const message = { owner, spender: values.spender, value: values.value, nonce, deadline: values.deadline };
  return Signature.from(await signer.signTypedData(domain, PERMIT_TYPES, message));
}
