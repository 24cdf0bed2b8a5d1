// The session token and the chosen organization live in localStorage (one browser, one
// person). Every GraphQL request carries the token as a bearer header.
const TOKEN_KEY = "partnergraph.token";
const ORGANIZATION_KEY = "partnergraph.organization";

type Listener = () => void;
const listeners = new Set<Listener>();

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(ORGANIZATION_KEY);
  }
  listeners.forEach((l) => l());
}

export function getOrganizationId(): string | null {
  return localStorage.getItem(ORGANIZATION_KEY);
}

export function setOrganizationId(id: string): void {
  localStorage.setItem(ORGANIZATION_KEY, id);
  listeners.forEach((l) => l());
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
