// Operations live in src/**/*.graphql; graphql-codegen validates each against
// ../schema.graphql (the exported schema) and types it: a schema change that breaks an
// operation fails `npm run build` here, and a changed shape fails the type check.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.graphql"],
  errorsOnly: false,
  silent: true,
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-operations", "typed-document-node"],
      config: {
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
        scalars: { DateTime: "string", Decimal: "string", JSON: "unknown" },
        useTypeImports: true,
        skipTypename: false,
        nonOptionalTypename: false,
      },
    },
  },
};

export default config;
