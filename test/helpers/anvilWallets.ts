import { HDNodeWallet, Mnemonic, NonceManager, type JsonRpcProvider } from "ethers";

import { PreflightSigner } from "../../src/clients/preflight";

/** anvil's default accounts come from this mnemonic. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

/** Account `index` of anvil's default mnemonic, with local nonces and gas estimated before sending. */
export function anvilWallet(provider: JsonRpcProvider, index: number): PreflightSigner {
  const phrase = Mnemonic.fromPhrase(ANVIL_MNEMONIC);
  const signer = HDNodeWallet.fromMnemonic(phrase, `m/44'/60'/0'/0/${index}`).connect(provider);
  return new PreflightSigner(new NonceManager(signer));
}
