import { persistedExchange } from "@urql/exchange-persisted";
import { Client, cacheExchange, fetchExchange } from "urql";

import { getToken } from "./session";

/** One urql client per session token: a new login starts with an empty cache. */
export function makeClient(): Client {
  return new Client({
    url: "/graphql",
    exchanges: [
      cacheExchange,
      // Every operation goes by its SHA-256 alone: the server registers the console's
      // (the build's persisted-query-manifest.json), so production's allowlist mode runs
      // them. On PersistedQueryNotFound (a server built from other sources) the exchange
      // sends the text with the hash once. POST, never GET: production refuses GET.
      persistedExchange({ preferGetForPersistedQueries: false, enableForMutation: true }),
      fetchExchange,
    ],
    requestPolicy: "cache-and-network",
    fetchOptions: () => {
      const token = getToken();
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      return { headers };
    },
  });
}
