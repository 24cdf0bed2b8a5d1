// GraphiQL, built once into the Python package (app/console_dist/graphiql). Nothing is
// inlined as data: URIs and nothing is fetched from elsewhere: the CSP allows only 'self'.
import { resolve } from "node:path";

import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

import { DIST_DIR, WEB_DIR } from "./config/paths";
import { selfHostedDataUris } from "./config/self-hosted-data-uris";

export default defineConfig({
  root: resolve(WEB_DIR, "graphiql"),
  base: "/graphiql/",
  plugins: [react(), selfHostedDataUris()],
  build: {
    outDir: resolve(DIST_DIR, "graphiql"),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 8000,
    reportCompressedSize: false,
    rollupOptions: {
      onwarn(warning, warn) {
        // GraphiQL's packages start modules with "use no memo" (React Compiler); harmless.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  worker: { format: "es" },
});
