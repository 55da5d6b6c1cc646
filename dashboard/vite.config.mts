// The web app's build: `npx vite build dashboard`, or src/dashboard/build.ts at `npm run dashboard`.
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

/**
 * The dashboard reads and never deploys: the TypeChain factories' bytecode (a sixth of the bundle)
 * is left out, so that the first view parses less.
 */
function withoutBytecode(): Plugin {
  return {
    name: "typechain-without-bytecode",
    transform(code, id) {
      if (!/typechain-types[\\/]factories[\\/].*__factory\.ts$/.test(id)) return null;
      return { code: code.replace(/const _bytecode =\s*"0x[0-9a-fA-F]*";/, 'const _bytecode = "0x";'), map: null };
    },
  };
}

export default defineConfig({
  plugins: [withoutBytecode(), react()],
  logLevel: "warn",
  build: { target: "es2022", chunkSizeWarningLimit: 4096, reportCompressedSize: false },
});
