// The console's operations, as the text its urql client sends (cacheExchange adds
// __typename to every selection, urql prints and trims the document), written next to the
// build as an Apollo persisted query manifest. The server registers them at start-up
// (app/persisted_queries.py), so the allowlist mode of production runs the console, and
// the console sends each one by its SHA-256 alone (src/app/client.ts).
//
// The documents are those graphql-codegen generated (loaded with Vite's module runner),
// formatted and printed with urql's own functions: the same code as in the browser, so
// the text, and therefore the hash, is the one the console sends.
import { createHash } from "node:crypto";

import { formatDocument, stringifyDocument } from "@urql/core";
import type { DocumentNode, OperationDefinitionNode } from "graphql";
import { type Plugin, runnerImport } from "vite";

/** The manifest's file name in the console's build (app/console_dist/console/). */
export const MANIFEST = "persisted-query-manifest.json";

interface Operation {
  id: string;
  name: string;
  type: string;
  body: string;
}

function isDocument(value: unknown): value is DocumentNode {
  return typeof value === "object" && value !== null && (value as DocumentNode).kind === "Document";
}

export function persistedOperations(generated: string): Plugin {
  return {
    name: "persisted-operations",
    apply: "build",
    async generateBundle() {
      const { module } = await runnerImport<Record<string, unknown>>(generated);
      const operations: Operation[] = [];
      for (const document of Object.values(module).filter(isDocument)) {
        const operation = document.definitions.find(
          (d): d is OperationDefinitionNode => d.kind === "OperationDefinition",
        );
        if (!operation) continue; // a fragment's own document (codegen's *FragmentDoc)
        if (!operation.name) this.error("every console operation needs a name");
        const body = stringifyDocument(formatDocument(document));
        const id = createHash("sha256").update(body).digest("hex");
        operations.push({ id, name: operation.name.value, type: operation.operation, body });
      }
      if (operations.length === 0) this.error(`no operation documents in ${generated}`);
      operations.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const manifest = { format: "apollo-persisted-query-manifest", version: 1, operations };
      this.emitFile({ type: "asset", fileName: MANIFEST, source: `${JSON.stringify(manifest, null, 2)}\n` });
    },
  };
}
