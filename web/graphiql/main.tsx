// GraphiQL (CodeMirror-based: no injected <style>, unlike the Monaco-based v5) for development, built from the npm packages into app/console_dist/graphiql:
// every script, style, font and worker is served by partnergraph itself (CSP 'self').
import "graphiql/style.css";
import "@graphiql/plugin-explorer/style.css";
import "./graphiql.css";

import { explorerPlugin } from "@graphiql/plugin-explorer";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

const fetcher = createGraphiQLFetcher({ url: new URL("/graphql", window.location.href).href });
const plugins = [explorerPlugin()];

const DEFAULT_QUERY = `# partnergraph: log in, then put the token in Headers as
# {"Authorization": "Bearer <token>"}
mutation LogIn {
  login(input: {email: "rep@partner.example", password: "partnergraph-demo"}) {
    token
    userErrors { field message code }
  }
}
`;

createRoot(document.getElementById("graphiql")!).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} plugins={plugins} defaultQuery={DEFAULT_QUERY} />
  </StrictMode>,
);
