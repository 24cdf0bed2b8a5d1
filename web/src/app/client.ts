import { Client, cacheExchange, fetchExchange } from "urql";

import { getToken } from "./session";

/** One urql client per session token: a new login starts with an empty cache. */
export function makeClient(): Client {
  return new Client({
    url: "/graphql",
    exchanges: [cacheExchange, fetchExchange],
    requestPolicy: "cache-and-network",
    fetchOptions: () => {
      const token = getToken();
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      return { headers };
    },
  });
}
