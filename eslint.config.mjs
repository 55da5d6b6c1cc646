// @ts-check
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "artifacts/",
      "cache/",
      "typechain-types/",
      "coverage/",
      "dist/",
      "ignition/deployments/",
      "dashboard/dist/",
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.mjs", ".solcover.js", "scripts/*.cjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // chai's property assertions (`expect(x).to.be.true`) are expressions by design.
      "@typescript-eslint/no-unused-expressions": "off",
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  { files: ["eslint.config.mjs", ".solcover.js", "scripts/*.cjs"], ...tseslint.configs.disableTypeChecked },
  // solidity-coverage reads its settings from a CommonJS module.
  { files: [".solcover.js"], languageOptions: { sourceType: "commonjs", globals: { module: "writable" } } },
  // Scripts other programs run (FastNetMon, ExaBGP): plain Node.js, started in milliseconds.
  {
    files: ["scripts/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        process: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setInterval: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
