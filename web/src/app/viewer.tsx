import { createContext, useContext } from "react";

import type { ProductFamily, ViewerQuery } from "../generated/graphql";

export type Membership = ViewerQuery["viewer"]["memberships"][number];

export interface ViewerState {
  user: ViewerQuery["viewer"]["user"];
  memberships: Membership[];
  /** The organization the console acts for (switchable in the header). */
  current: Membership | null;
  refresh: () => void;
}

export const ViewerContext = createContext<ViewerState>({
  user: null,
  memberships: [],
  current: null,
  refresh: () => undefined,
});

export function useViewer(): ViewerState {
  return useContext(ViewerContext);
}

export const FAMILIES: readonly ProductFamily[] = ["WEB_HOSTING", "MAIL_HOSTING", "DOMAINS", "STORAGE", "CLOUD"];

export function label(value: string): string {
  const text = value.replace(/_/g, " ").toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}
