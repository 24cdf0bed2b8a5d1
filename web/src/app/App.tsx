import { useEffect, useMemo, useRef, useSyncExternalStore, type ReactNode } from "react";
import { Provider, useMutation, useQuery } from "urql";

import { ViewerDocument, LogoutDocument } from "../generated/graphql";
import { LoginForm, LoginPage, MemberInvitationPage, ResetPasswordPage, SignUpPage, VerifyEmailPage } from "../pages/auth";
import { InvitationPage, PartnersPage } from "../pages/client";
import {
  AddClientPage,
  ClientPage,
  DirectoryListingPage,
  InvitationsPage,
  ManagedClientsPage,
  PrepaidAccountPage,
  ReceivedBidsPage,
} from "../pages/partner";
import { CollaboratorsPage, MembersPage, WebhooksPage } from "../pages/people";
import { DirectoryPage, ManageBidPage, PostBidPage, VerifyBidPage } from "../pages/visitor";
import { Select } from "../ui/form";
import { ErrorBox, Loading, Page } from "../ui/status";
import { makeClient } from "./client";
import { Link, match, navigate, useLocation } from "./router";
import { getOrganizationId, getToken, setOrganizationId, setToken, subscribe } from "./session";
import { useViewer, ViewerContext, type ViewerState } from "./viewer";

export function App() {
  const token = useSyncExternalStore(subscribe, getToken);
  // A new session starts with a new client: nothing cached from the previous one.
  const client = useMemo(() => makeClient(), [token]);
  return (
    <Provider value={client}>
      <ViewerProvider key={token ?? "anonymous"} signedIn={!!token}>
        <Shell />
      </ViewerProvider>
    </Provider>
  );
}

function ViewerProvider({ signedIn, children }: { signedIn: boolean; children: ReactNode }) {
  const organizationId = useSyncExternalStore(subscribe, getOrganizationId);
  const [result, refetch] = useQuery({ query: ViewerDocument, pause: !signedIn });
  const user = result.data?.viewer.user ?? null;
  useEffect(() => {
    if (signedIn && result.data && !user) setToken(null); // the session ended elsewhere
  }, [signedIn, result.data, user]);
  const memberships = result.data?.viewer.memberships ?? [];
  const current = memberships.find((m) => m.organization.id === organizationId) ?? memberships[0] ?? null;
  const state: ViewerState = { user, memberships, current, refresh: () => refetch({ requestPolicy: "network-only" }) };
  if (signedIn && !result.data && result.fetching) return <Loading what="Opening your session" />;
  if (signedIn && !result.data && result.error) return <ErrorBox error={result.error} />;
  return <ViewerContext.Provider value={state}>{children}</ViewerContext.Provider>;
}

function Shell() {
  const { path } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    // Keyboard and screen-reader users land on the new page's heading.
    if (first.current) first.current = false;
    else document.getElementById("page-title")?.focus();
  }, [path]);
  return (
    <>
      <a className="skip" href="#main">
        Skip to the content
      </a>
      <Header />
      <main id="main">
        <Routes path={path} />
      </main>
    </>
  );
}

function Header() {
  const { user, memberships, current } = useViewer();
  const [, logout] = useMutation(LogoutDocument);
  const partner = !!current?.organization.partner;
  return (
    <header className="top">
      <Link href="/" className="brand">
        partnergraph
      </Link>
      <nav aria-label="Main">
        <ul>
          {user && partner && (
            <>
              <li><Link href="/clients">Managed Clients</Link></li>
              <li><Link href="/invitations">Invitations</Link></li>
              <li><Link href="/prepaid-account">Prepaid account</Link></li>
              <li><Link href="/partner/bids">Received bids</Link></li>
              <li><Link href="/directory-listing">Directory listing</Link></li>
              <li><Link href="/collaborators">Collaborators</Link></li>
            </>
          )}
          {user && !partner && (
            <li><Link href="/partners">Partners</Link></li>
          )}
          {user && (
            <li><Link href="/members">Members</Link></li>
          )}
          <li><Link href="/directory">Directory</Link></li>
        </ul>
      </nav>
      <div className="who">
        {user ? (
          <>
            {memberships.length > 1 ? (
              <Select
                label="Organization"
                name="organization"
                value={current?.organization.id ?? ""}
                onChange={(e) => setOrganizationId(e.target.value)}
              >
                {memberships.map((m) => (
                  <option key={m.organization.id} value={m.organization.id}>
                    {m.organization.name}
                  </option>
                ))}
              </Select>
            ) : (
              <span>{current?.organization.name}</span>
            )}
            <span className="user">{user.fullName}</span>
            <button
              type="button"
              onClick={async () => {
                await logout({});
                setToken(null);
                navigate("/");
              }}
            >
              Log out
            </button>
          </>
        ) : (
          <>
            <Link href="/login">Log in</Link> <Link href="/sign-up">Sign up</Link>
          </>
        )}
      </div>
    </header>
  );
}

function SignedIn({ children }: { children: ReactNode }) {
  const { user } = useViewer();
  if (user) return <>{children}</>;
  return (
    <Page title="Log in">
      <LoginForm />
    </Page>
  );
}

function Home() {
  const { user, current } = useViewer();
  if (!user)
    return (
      <Page title="Reseller Space">
        <p>Partners manage their clients' products; clients choose who manages and who pays.</p>
        <ul>
          <li><Link href="/login">Log in</Link></li>
          <li><Link href="/sign-up">Create an account</Link></li>
          <li><Link href="/directory">Find a partner in the directory</Link></li>
          <li><Link href="/bids/new">Post a bid: partners send offers</Link></li>
        </ul>
      </Page>
    );
  return current?.organization.partner ? <ManagedClientsPage /> : <PartnersPage />;
}

function Partnerships() {
  const { current } = useViewer();
  return current?.organization.partner ? <InvitationsPage /> : <PartnersPage />;
}

const ROUTES: [string, (p: Record<string, string>) => ReactNode][] = [
  ["/", () => <Home />],
  ["/login", () => <LoginPage />],
  ["/sign-up", () => <SignUpPage />],
  ["/verify-email", () => <VerifyEmailPage />],
  ["/reset-password", () => <ResetPasswordPage />],
  ["/member-invitations/accept", () => <MemberInvitationPage />],
  ["/invitations/accept", () => <InvitationPage />],
  ["/partnerships", () => <SignedIn><Partnerships /></SignedIn>],
  ["/clients", () => <SignedIn><ManagedClientsPage /></SignedIn>],
  ["/clients/new", () => <SignedIn><AddClientPage /></SignedIn>],
  ["/clients/:id", (p) => <SignedIn><ClientPage clientId={p.id} /></SignedIn>],
  ["/invitations", () => <SignedIn><InvitationsPage /></SignedIn>],
  ["/prepaid-account", () => <SignedIn><PrepaidAccountPage /></SignedIn>],
  ["/partner/bids", () => <SignedIn><ReceivedBidsPage /></SignedIn>],
  ["/partner/bids/:id", (p) => <SignedIn><ReceivedBidsPage focus={p.id} /></SignedIn>],
  ["/directory-listing", () => <SignedIn><DirectoryListingPage /></SignedIn>],
  ["/collaborators", () => <SignedIn><CollaboratorsPage /></SignedIn>],
  ["/members", () => <SignedIn><MembersPage /></SignedIn>],
  ["/partners", () => <SignedIn><PartnersPage /></SignedIn>],
  ["/settings/webhooks", () => <SignedIn><WebhooksPage /></SignedIn>],
  ["/directory", () => <DirectoryPage />],
  ["/bids/new", () => <PostBidPage />],
  ["/bids/verify", () => <VerifyBidPage />],
  ["/bids/manage", () => <ManageBidPage />],
];

function Routes({ path }: { path: string }) {
  for (const [pattern, render] of ROUTES) {
    const params = match(pattern, path);
    if (params) return <>{render(params)}</>;
  }
  return (
    <Page title="Page not found">
      <p>
        Nothing here. <Link href="/">Back to the start</Link>.
      </p>
    </Page>
  );
}
