// The partner's Reseller Space: Managed Clients, a client's page, Add a client, pending
// invitations, the prepaid account, received bids, the directory listing.
import { useMemo, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { Link, navigate } from "../app/router";
import { label, useViewer } from "../app/viewer";
import {
  CancelInvitationDocument,
  ClientInvoicesDocument,
  ClientPageDocument,
  InviteDocument,
  MakeOfferDocument,
  ManagedClientsDocument,
  PartnerInvitationsDocument,
  PartnershipsDocument,
  PrepaidAccountDocument,
  ReceivedBidsDocument,
  ResendInvitationDocument,
  UpdateDirectoryListingDocument,
  type ProductFamily,
} from "../generated/graphql";
import { AccessFields, FamilyChoices, toInput, useAccess } from "../ui/access";
import { downloadCsv } from "../ui/download";
import { Choice, Field, FormErrors, Select, Submit, type UserError } from "../ui/form";
import { ErrorBox, Loading, Money, Page, QueryState, When } from "../ui/status";
import { StopCollaboration } from "./stop";

const PAGE_SIZE = 20;

function usePartner() {
  const { current } = useViewer();
  return { organization: current?.organization ?? null, partner: current?.organization.partner ?? null };
}

export function ManagedClientsPage() {
  const { partner } = usePartner();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [filter, setFilter] = useState("");
  const [level, setLevel] = useState("");
  const [result] = useQuery({
    query: ManagedClientsDocument,
    variables: { partnerId: partner?.id ?? "", first: PAGE_SIZE, after: cursors[cursors.length - 1] },
    pause: !partner,
  });
  const connection = result.data?.node?.__typename === "Partner" ? result.data.node.clients : null;
  const rows = useMemo(() => {
    const all = connection?.edges.map((e) => e.node) ?? [];
    const text = filter.trim().toLowerCase();
    return all.filter(
      (c) => (!text || c.name.toLowerCase().includes(text)) && (!level || c.grant.level === level),
    );
  }, [connection, filter, level]);
  if (!partner) return <NotAPartner />;
  return (
    <Page
      title="Managed Clients"
      actions={
        <Link className="button primary" href="/clients/new">
          Add a client
        </Link>
      }
    >
      <div className="filters" role="search">
        <Field label="Filter by name" name="filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <Select label="Access" name="level" value={level} onChange={(e) => setLevel(e.target.value)}>
          <option value="">Any</option>
          <option value="LIMITED">Limited</option>
          <option value="FULL">Full</option>
        </Select>
      </div>
      <QueryState fetching={result.fetching} error={result.error} hasData={!!connection}>
        {() => (
          <>
            <table aria-label="Managed clients">
              <thead>
                <tr>
                  <th scope="col">Client</th>
                  <th scope="col">Access</th>
                  <th scope="col">Payment methods</th>
                  <th scope="col">Products</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((client) => (
                  <tr key={client.id}>
                    <td>
                      <Link href={`/clients/${encodeURIComponent(client.id)}`}>{client.name}</Link>
                    </td>
                    <td>{client.grant.level ? label(client.grant.level) : "—"}</td>
                    <td>{client.grant.paymentMethods ? label(client.grant.paymentMethods) : "—"}</td>
                    <td>
                      {client.products?.edges.map((e) => e.node.name).join(", ") || "—"}
                      {client.products?.pageInfo.hasNextPage ? ", …" : ""}
                    </td>
                    <td>{label(client.grant.status)}</td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={5}>No client on this page matches.</td>
                  </tr>
                )}
              </tbody>
            </table>
            <nav className="pager" aria-label="Pages of clients">
              <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous page
              </button>
              <span>Page {cursors.length}</span>
              <button
                type="button"
                disabled={!connection?.pageInfo.hasNextPage}
                onClick={() => setCursors([...cursors, connection?.pageInfo.endCursor ?? null])}
              >
                Next page
              </button>
            </nav>
          </>
        )}
      </QueryState>
    </Page>
  );
}

export function ClientPage({ clientId }: { clientId: string }) {
  const [result] = useQuery({ query: ClientPageDocument, variables: { clientId } });
  const [invoices] = useQuery({ query: ClientInvoicesDocument, variables: { clientId } });
  const [exportError, setExportError] = useState<string | null>(null);
  const client = result.data?.node?.__typename === "Client" ? result.data.node : null;
  const invoiceNode = invoices.data?.node?.__typename === "Client" ? invoices.data.node : null;
  const forbidden = invoices.error?.graphQLErrors.some((e) => e.extensions?.code === "FORBIDDEN");
  return (
    <QueryState fetching={result.fetching} error={result.error} hasData={!!client}>
      {() =>
        client && (
          <Page
            title={client.name}
            actions={
              client.billingExportUrl && (
                <button
                  type="button"
                  onClick={() =>
                    downloadCsv(client.billingExportUrl!, `${client.name}-billing.csv`).catch((e: Error) =>
                      setExportError(e.message),
                    )
                  }
                >
                  Export to CSV
                </button>
              )
            }
          >
            {exportError && <ErrorBox error={exportError} />}
            <dl className="facts">
              <dt>Access</dt>
              <dd>{client.grant.level ? label(client.grant.level) : "—"}</dd>
              <dt>Payment methods</dt>
              <dd>{client.grant.paymentMethods ? label(client.grant.paymentMethods) : "—"}</dd>
              <dt>Since</dt>
              <dd>
                <When iso={client.grant.acceptedAt} />
              </dd>
            </dl>
            <h2>Products</h2>
            <table aria-label="Products">
              <thead>
                <tr>
                  <th scope="col">Product</th>
                  <th scope="col">Family</th>
                  <th scope="col">Quantity</th>
                  <th scope="col">Status</th>
                  <th scope="col">Renews</th>
                </tr>
              </thead>
              <tbody>
                {client.products?.edges.map(({ node }) => (
                  <tr key={node.id}>
                    <td>{node.name}</td>
                    <td>{label(node.family)}</td>
                    <td>{node.quantity}</td>
                    <td>{label(node.status)}</td>
                    <td>
                      <When iso={node.renewsAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>Invoices</h2>
            {invoices.fetching && !invoiceNode && !forbidden && <Loading what="Loading invoices" />}
            {forbidden && (
              <p className="billed-to-client">Billed to the client: its invoices stay with the client.</p>
            )}
            {invoiceNode?.invoices && (
              <table aria-label="Invoices">
                <thead>
                  <tr>
                    <th scope="col">Number</th>
                    <th scope="col">Issued</th>
                    <th scope="col">Total</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {invoiceNode.invoices.edges.map(({ node }) => (
                    <tr key={node.id}>
                      <td>{node.number}</td>
                      <td>
                        <When iso={node.issuedAt} />
                      </td>
                      <td>
                        <Money value={node.total} />
                      </td>
                      <td>{label(node.status)}</td>
                    </tr>
                  ))}
                  {invoiceNode.invoices.edges.length === 0 && (
                    <tr>
                      <td colSpan={4}>No invoice paid by you for this client.</td>
                    </tr>
                  )}
                </tbody>
              </table>
            )}
            {client.grant.status === "ACTIVE" && (
              <StopCollaboration grantId={client.grant.id} who={client.name} after="/clients" />
            )}
          </Page>
        )
      }
    </QueryState>
  );
}

export function AddClientPage() {
  const { organization, partner } = usePartner();
  const [state, invite] = useMutation(InviteDocument);
  const [access, setAccess] = useAccess();
  const [errors, setErrors] = useState<UserError[]>([]);
  if (!partner || !organization) return <NotAPartner />;
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const email = (event.currentTarget.elements.namedItem("clientEmail") as HTMLInputElement).value;
    const result = await invite({
      input: { organizationId: organization.id, clientEmail: email, access: toInput(access, "families") },
    });
    const payload = result.data?.invite;
    setErrors(payload?.userErrors ?? []);
    if (payload?.grant) navigate("/invitations");
  };
  return (
    <Page title="Add a client">
      <form onSubmit={submit} aria-label="Add a client" noValidate>
        <Field label="Client's email" name="clientEmail" type="email" required errors={errors} />
        <AccessFields value={access} onChange={setAccess} by="families" errors={errors} />
        <FormErrors
          errors={errors}
          fields={["clientEmail", "level", "productFamilies", "paymentMethods"]}
          error={state.error}
        />
        <Submit busy={state.fetching}>Send the invitation</Submit>
      </form>
    </Page>
  );
}

/** Invitations the current organization sent and that wait for an answer: a partner's
 * pending clients, a client's pending requests to partners. */
export function PendingInvitations() {
  const { current } = useViewer();
  const partnerId = current?.organization.partner?.id;
  const [asClient, refetchClient] = useQuery({
    query: PartnershipsDocument,
    variables: { organizationId: current?.organization.id ?? "" },
    pause: !current || !!partnerId,
  });
  const [asPartner, refetchPartner] = useQuery({
    query: PartnerInvitationsDocument,
    variables: { partnerId: partnerId ?? "" },
    pause: !partnerId,
  });
  const [resendState, resend] = useMutation(ResendInvitationDocument);
  const [, cancel] = useMutation(CancelInvitationDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const result = partnerId ? asPartner : asClient;
  const refetch = partnerId ? refetchPartner : refetchClient;
  const side = partnerId ? "PARTNER" : "CLIENT";
  const grants = partnerId
    ? asPartner.data?.node?.__typename === "Partner"
      ? asPartner.data.node.clients?.edges.map((e) => e.node.grant)
      : undefined
    : asClient.data?.node?.__typename === "Organization"
      ? asClient.data.node.partnerships?.edges.map((e) => e.node)
      : undefined;
  const pending = grants?.filter((g) => g.status === "PENDING" && g.initiatedBy === side) ?? [];
  return (
    <section aria-labelledby="pending-title">
      <h2 id="pending-title">Pending invitations</h2>
      <QueryState fetching={result.fetching} error={result.error} hasData={!!grants}>
        {() => (
          <>
            <FormErrors errors={errors} />
            {done && <p role="status">{done}</p>}
            <table aria-label="Pending invitations">
              <thead>
                <tr>
                  <th scope="col">Invited</th>
                  <th scope="col">Asked</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {pending.map((g) => (
                  <tr key={g.id}>
                    <td>{side === "PARTNER" ? g.clientName ?? g.inviteeEmail : g.partner.name}</td>
                    <td>
                      {label(g.requestedAccess.level)}
                      {g.requestedAccess.productFamilies.length
                        ? `: ${g.requestedAccess.productFamilies.map(label).join(", ")}`
                        : ""}
                    </td>
                    <td>
                      <When iso={g.invitationExpiresAt} />
                    </td>
                    <td>
                      <button
                        type="button"
                        disabled={resendState.fetching}
                        onClick={async () => {
                          const r = await resend({ input: { grantId: g.id } });
                          setErrors(r.data?.resendInvitation.userErrors ?? []);
                          if (r.data?.resendInvitation.grant) setDone("The invitation was sent again.");
                        }}
                      >
                        Resend
                      </button>{" "}
                      <button
                        type="button"
                        onClick={async () => {
                          const r = await cancel({ input: { grantId: g.id } });
                          setErrors(r.data?.cancelInvitation.userErrors ?? []);
                          if (r.data?.cancelInvitation.grant) {
                            setDone("The invitation was cancelled.");
                            refetch({ requestPolicy: "network-only" });
                          }
                        }}
                      >
                        Cancel
                      </button>
                    </td>
                  </tr>
                ))}
                {pending.length === 0 && (
                  <tr>
                    <td colSpan={4}>No invitation waits for an answer.</td>
                  </tr>
                )}
              </tbody>
            </table>
          </>
        )}
      </QueryState>
    </section>
  );
}

export function InvitationsPage() {
  return (
    <Page title="Invitations">
      <PendingInvitations />
    </Page>
  );
}

export function PrepaidAccountPage() {
  const { organization } = usePartner();
  const [result] = useQuery({
    query: PrepaidAccountDocument,
    variables: { organizationId: organization?.id ?? "" },
    pause: !organization,
  });
  const account = result.data?.prepaidAccount;
  return (
    <Page title="Prepaid account">
      <QueryState fetching={result.fetching} error={result.error} hasData={!!account}>
        {() =>
          account && (
            <>
              <p className="balance">
                Balance: <Money value={account.balance} />
              </p>
              <CreditsChart entries={account.entries.edges.map((e) => e.node)} currency={account.currency} />
              <table aria-label="Ledger entries">
                <thead>
                  <tr>
                    <th scope="col">Date</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Client</th>
                    <th scope="col">Memo</th>
                    <th scope="col">Amount</th>
                  </tr>
                </thead>
                <tbody>
                  {account.entries.edges.map(({ node }) => (
                    <tr key={node.id}>
                      <td>
                        <When iso={node.createdAt} />
                      </td>
                      <td>{label(node.kind)}</td>
                      <td>{node.clientName ?? "—"}</td>
                      <td>{node.memo}</td>
                      <td>
                        <Money value={node.amount} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
        }
      </QueryState>
    </Page>
  );
}

/** Credits per day, as bars (an SVG: no chart library, nothing inline the CSP refuses). */
function CreditsChart({
  entries,
  currency,
}: {
  entries: { createdAt: string; amount: { amount: string } }[];
  currency: string;
}) {
  const days = new Map<string, number>();
  for (const e of entries) days.set(e.createdAt.slice(0, 10), (days.get(e.createdAt.slice(0, 10)) ?? 0) + Number(e.amount.amount));
  const points = [...days.entries()].sort(([a], [b]) => a.localeCompare(b));
  if (!points.length) return <p>No credit yet.</p>;
  const max = Math.max(...points.map(([, v]) => Math.abs(v)), 1);
  const width = 600;
  const height = 160;
  const bar = width / points.length;
  return (
    <figure>
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={`Credits over time, in ${currency}`} className="chart">
        {points.map(([day, total], i) => {
          const h = (Math.abs(total) / max) * height;
          return (
            <g key={day}>
              <rect x={i * bar + 2} y={height - h} width={Math.max(bar - 4, 1)} height={h} className={total < 0 ? "neg" : "pos"}>
                <title>{`${day}: ${total.toFixed(2)} ${currency}`}</title>
              </rect>
            </g>
          );
        })}
        <text x={0} y={height + 16}>
          {points[0][0]}
        </text>
        <text x={width} y={height + 16} textAnchor="end">
          {points[points.length - 1][0]}
        </text>
      </svg>
      <figcaption>Credits per day ({currency})</figcaption>
    </figure>
  );
}

export function ReceivedBidsPage({ focus }: { focus?: string }) {
  const { partner } = usePartner();
  const [result, refetch] = useQuery({
    query: ReceivedBidsDocument,
    variables: { partnerId: partner?.id ?? "" },
    pause: !partner,
  });
  if (!partner) return <NotAPartner />;
  const bids = result.data?.receivedBids.edges.map((e) => e.node) ?? [];
  return (
    <Page title="Received bids">
      <QueryState fetching={result.fetching} error={result.error} hasData={!!result.data}>
        {() => (
          <ul className="cards">
            {bids.length === 0 && <li>No bid received yet.</li>}
            {bids.map((bid) => (
              <li key={bid.id} className={bid.id === focus ? "card focus" : "card"} aria-current={bid.id === focus || undefined}>
                <h2>{bid.description}</h2>
                <p>
                  {bid.productFamilies.map(label).join(", ")} · {bid.language} · {bid.region} · budget{" "}
                  <Money value={bid.budget} /> · until <When iso={bid.deadline} /> · {label(bid.status)}
                </p>
                {bid.myOffer ? (
                  <p>
                    Your offer: <Money value={bid.myOffer.amount} />
                    {bid.myOffer.awarded ? " — awarded to you" : ""}
                  </p>
                ) : (
                  bid.status === "OPEN" && (
                    <OfferForm bidId={bid.id} partnerId={partner.id} currency={bid.budget.currency} onDone={() => refetch({ requestPolicy: "network-only" })} />
                  )
                )}
                {bid.authorContact && (
                  <p>
                    Contact: {bid.authorContact.name} &lt;{bid.authorContact.email}&gt;
                  </p>
                )}
              </li>
            ))}
          </ul>
        )}
      </QueryState>
    </Page>
  );
}

function OfferForm({ bidId, partnerId, currency, onDone }: { bidId: string; partnerId: string; currency: string; onDone: () => void }) {
  const [state, makeOffer] = useMutation(MakeOfferDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const get = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
    const result = await makeOffer({
      input: { bidId, partnerId, amount: { amount: get("amount"), currency: currency as "CHF" | "EUR" }, message: get("message") },
    });
    setErrors(result.data?.makeOffer.userErrors ?? []);
    if (result.data?.makeOffer.offer) onDone();
  };
  return (
    <form onSubmit={submit} aria-label="Make an offer" noValidate>
      <Field label={`Your offer (${currency})`} name="amount" inputMode="decimal" required errors={errors} />
      <Field label="Message" name="message" errors={errors} />
      <FormErrors errors={errors} fields={["amount", "message"]} error={state.error} />
      <Submit busy={state.fetching}>Make the offer</Submit>
    </form>
  );
}

export function DirectoryListingPage() {
  const { partner } = usePartner();
  const [state, update] = useMutation(UpdateDirectoryListingDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [families, setFamilies] = useState<ProductFamily[]>([]);
  if (!partner) return <NotAPartner />;
  const entry = state.data?.updateDirectoryListing.entry;
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const get = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
    const list = (n: string) => get(n).split(",").map((s) => s.trim()).filter(Boolean);
    const result = await update({
      input: {
        partnerId: partner.id,
        description: get("description"),
        website: get("website") || null,
        languages: list("languages"),
        regions: list("regions"),
        productFamilies: families,
        published: (form.elements.namedItem("published") as HTMLInputElement).checked,
      },
    });
    setErrors(result.data?.updateDirectoryListing.userErrors ?? []);
  };
  return (
    <Page title="Directory listing">
      <form onSubmit={submit} aria-label="Directory listing" noValidate>
        <Field label="Description" name="description" required errors={errors} />
        <Field label="Website" name="website" type="url" errors={errors} />
        <Field label="Languages" name="languages" hint="Comma-separated codes, e.g. fr, de" errors={errors} />
        <Field label="Regions" name="regions" hint="Comma-separated, e.g. CH, CH-VD" errors={errors} />
        <FamilyChoices value={families} onChange={setFamilies} errors={errors} />
        <Choice type="checkbox" name="published" label="Publish in the public directory" />
        <FormErrors
          errors={errors}
          fields={["description", "website", "languages", "regions", "productFamilies", "published"]}
          error={state.error}
        />
        <Submit busy={state.fetching}>Save the listing</Submit>
        {entry && (
          <p role="status">
            Saved{entry.published ? " and published" : " (not published)"}: {entry.name}.
          </p>
        )}
      </form>
    </Page>
  );
}

function NotAPartner() {
  return (
    <Page title="Reseller Space">
      <p>The organization you act for is not a partner.</p>
    </Page>
  );
}
