// Managed Clients (one row per client, what each grant lets the partner see), a
// client's page, and Add a client (an invitation by email).
import { useMemo, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { Link, navigate } from "../../app/router";
import { label } from "../../app/viewer";
import {
  ClientInvoicesDocument,
  ClientPageDocument,
  InviteDocument,
  ManagedClientsDocument,
} from "../../generated/graphql";
import { AccessFields, toInput, useAccess } from "../../ui/access";
import { downloadCsv } from "../../ui/download";
import { Field, FormErrors, Select, Submit, type UserError } from "../../ui/form";
import { ErrorBox, Loading, Money, Page, QueryState, When } from "../../ui/status";
import { StopCollaboration } from "../stop";
import { PAGE_SIZE, usePartner, NotAPartner } from "./common";

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
