// The web console, built into the Python package (app/console_dist/console) so that
// `partnergraph serve` serves it at / with no Node.js. Everything is a file of its own
// (no data: URI, no inline script or style): the CSP allows only 'self'. Beside it, the
// console's operations as the server registers them (config/persisted-operations.ts).
import { resolve } from "node:path";

import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

import { DIST_DIR, WEB_DIR } from "./config/paths";
import { persistedOperations } from "./config/persisted-operations";
import { selfHostedDataUris } from "./config/self-hosted-data-uris";

export default defineConfig({
  root: WEB_DIR,
  base: "/",
  plugins: [
    react(),
    selfHostedDataUris(),
    persistedOperations(resolve(WEB_DIR, "src/generated/graphql.ts")),
  ],
  build: {
    outDir: resolve(DIST_DIR, "console"),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { "/graphql": "http://127.0.0.1:8000", "/exports": "http://127.0.0.1:8000" } },
});
