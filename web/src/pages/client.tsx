// The client side: the Partner page (find and invite a partner, edit access, payment
// methods, Stop Collaboration) and the invitation page an emailed link opens.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { navigate, useLocation } from "../app/router";
import { setOrganizationId } from "../app/session";
import { label, useViewer } from "../app/viewer";
import {
  AcceptDocument,
  ChangePaymentMethodsDocument,
  EditAccessDocument,
  FindPartnersDocument,
  InviteDocument,
  OrganizationProductsDocument,
  PartnershipsDocument,
  RefuseDocument,
  type GrantFieldsFragment,
  type PaymentMethods,
} from "../generated/graphql";
import { AccessFields, toInput, useAccess, type AccessChoice } from "../ui/access";
import { Choice, Choices, Field, FormErrors, Select, Submit, type UserError } from "../ui/form";
import { Page, QueryState, When } from "../ui/status";
import { LoginForm } from "./auth";
import { PendingInvitations } from "./partner";
import { StopCollaboration } from "./stop";

function useProducts(organizationId: string | undefined) {
  const [result] = useQuery({
    query: OrganizationProductsDocument,
    variables: { organizationId: organizationId ?? "" },
    pause: !organizationId,
  });
  const node = result.data?.node?.__typename === "Organization" ? result.data.node : null;
  return node?.products?.edges.map((e) => e.node) ?? [];
}

function describeAccess(g: GrantFieldsFragment): string {
  if (!g.level) return "—";
  if (g.level === "FULL") return `Full, ${label(g.paymentMethods ?? "CLIENT")}'s payment methods`;
  return `Limited: ${g.grantedProducts.map((p) => p.name).join(", ") || "no product"}`;
}

export function PartnersPage() {
  const { current } = useViewer();
  const organizationId = current?.organization.id;
  const [result, refetch] = useQuery({
    query: PartnershipsDocument,
    variables: { organizationId: organizationId ?? "" },
    pause: !organizationId,
  });
  const [editing, setEditing] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const node = result.data?.node?.__typename === "Organization" ? result.data.node : null;
  const grants = node?.partnerships?.edges.map((e) => e.node) ?? [];
  const live = grants.filter((g) => g.status === "ACTIVE");
  const toAnswer = grants.filter((g) => g.status === "PENDING" && g.initiatedBy === "PARTNER");
  const reload = () => refetch({ requestPolicy: "network-only" });
  return (
    <Page
      title="Partners"
      actions={
        <button type="button" className="primary" onClick={() => setAdding(!adding)} aria-expanded={adding}>
          Add a partner
        </button>
      }
    >
      {adding && <AddPartner onDone={() => { setAdding(false); reload(); }} />}
      <QueryState fetching={result.fetching} error={result.error} hasData={!!node}>
        {() => (
          <>
            {toAnswer.length > 0 && (
              <section aria-labelledby="to-answer">
                <h2 id="to-answer">Requests to answer</h2>
                <ul>
                  {toAnswer.map((g) => (
                    <li key={g.id}>
                      {g.partner.name} asks for {label(g.requestedAccess.level)} access.{" "}
                      <a href={`/invitations/accept?grant=${encodeURIComponent(g.id)}`}>Answer</a>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            <table aria-label="Partners">
              <thead>
                <tr>
                  <th scope="col">Partner</th>
                  <th scope="col">Access</th>
                  <th scope="col">Since</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {live.map((g) => (
                  <tr key={g.id}>
                    <td>{g.partner.name}</td>
                    <td>{describeAccess(g)}</td>
                    <td>
                      <When iso={g.createdAt} />
                    </td>
                    <td>
                      <button type="button" onClick={() => setEditing(editing === g.id ? null : g.id)} aria-expanded={editing === g.id}>
                        Manage {g.partner.name}
                      </button>
                    </td>
                  </tr>
                ))}
                {live.length === 0 && (
                  <tr>
                    <td colSpan={4}>No partner manages your products.</td>
                  </tr>
                )}
              </tbody>
            </table>
            {live
              .filter((g) => g.id === editing)
              .map((g) => (
                <ManageGrant key={g.id} grant={g} organizationId={organizationId!} onDone={reload} />
              ))}
            <PendingInvitations />
          </>
        )}
      </QueryState>
    </Page>
  );
}

function ManageGrant({ grant, organizationId, onDone }: { grant: GrantFieldsFragment; organizationId: string; onDone: () => void }) {
  const products = useProducts(organizationId);
  const [access, setAccess] = useAccess({
    level: grant.level ?? "LIMITED",
    paymentMethods: grant.paymentMethods,
    productIds: grant.grantedProducts.map((p) => p.id),
  });
  const [editState, editAccess] = useMutation(EditAccessDocument);
  const [payState, changePaymentMethods] = useMutation(ChangePaymentMethodsDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [payErrors, setPayErrors] = useState<UserError[]>([]);
  const [saved, setSaved] = useState<string | null>(null);
  const submitAccess = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const result = await editAccess({ input: { grantId: grant.id, access: toInput(access, "products") } });
    setErrors(result.data?.editAccess.userErrors ?? []);
    if (result.data?.editAccess.grant) {
      setSaved("Access rights saved; the partner is notified.");
      onDone();
    }
  };
  const submitPayment = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const chosen = (event.currentTarget.elements.namedItem("paymentMethods") as RadioNodeList).value as PaymentMethods;
    const result = await changePaymentMethods({ input: { grantId: grant.id, paymentMethods: chosen } });
    setPayErrors(result.data?.changePaymentMethods.userErrors ?? []);
    if (result.data?.changePaymentMethods.grant) {
      setSaved(`Payment methods: ${label(chosen)}'s. The partner is notified by email.`);
      onDone();
    }
  };
  return (
    <section className="panel" aria-labelledby={`manage-${grant.id}`}>
      <h2 id={`manage-${grant.id}`}>{grant.partner.name}</h2>
      {saved && <p role="status">{saved}</p>}
      <form onSubmit={submitAccess} aria-label="Edit access rights" noValidate>
        <AccessFields value={access} onChange={setAccess} by="products" products={products} errors={errors} askPaymentMethods={grant.level !== "FULL"} />
        <FormErrors errors={errors} fields={["level", "productIds", "paymentMethods"]} error={editState.error} />
        <Submit busy={editState.fetching}>Save access rights</Submit>
      </form>
      {grant.level === "FULL" && (
        <form onSubmit={submitPayment} aria-label="Payment methods" noValidate>
          <Choices legend="Payment methods" name="paymentMethods" errors={payErrors}>
            <Choice type="radio" name="paymentMethods" value="CLIENT" label="Mine (the client's)" defaultChecked={grant.paymentMethods === "CLIENT"} />
            <Choice type="radio" name="paymentMethods" value="PARTNER" label="The partner's" defaultChecked={grant.paymentMethods === "PARTNER"} />
          </Choices>
          <FormErrors errors={payErrors} fields={["paymentMethods"]} error={payState.error} />
          <Submit busy={payState.fetching}>Change payment methods</Submit>
        </form>
      )}
      <StopCollaboration grantId={grant.id} who={grant.partner.name} after="/partners" />
    </section>
  );
}

function AddPartner({ onDone }: { onDone: () => void }) {
  const { current } = useViewer();
  const organizationId = current?.organization.id;
  const products = useProducts(organizationId);
  const [search, setSearch] = useState("");
  const [found] = useQuery({ query: FindPartnersDocument, variables: { search }, pause: search.trim().length < 2 });
  const [partnerId, setPartnerId] = useState<string | null>(null);
  const [access, setAccess] = useAccess();
  const [state, invite] = useMutation(InviteDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!organizationId) return;
    if (!partnerId) {
      setErrors([{ field: "partnerId", code: "REQUIRED", message: "Choose a partner from the results." }]);
      return;
    }
    const result = await invite({ input: { organizationId, partnerId, access: toInput(access, "products") } });
    setErrors(result.data?.invite.userErrors ?? []);
    if (result.data?.invite.grant) onDone();
  };
  const partners = found.data?.partners.edges.map((e) => e.node) ?? [];
  return (
    <form onSubmit={submit} aria-label="Add a partner" className="panel" noValidate>
      <Field label="Partner's name or email" name="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      <Choices legend="Partner" name="partnerId" errors={errors}>
        {search.trim().length >= 2 && !found.fetching && partners.length === 0 && <p>No partner found.</p>}
        {partners.map((p) => (
          <Choice key={p.id} type="radio" name="partnerId" label={p.name} checked={partnerId === p.id} onChange={() => setPartnerId(p.id)} />
        ))}
      </Choices>
      <AccessFields value={access} onChange={setAccess} by="products" products={products} errors={errors} />
      <FormErrors errors={errors} fields={["partnerId", "level", "productIds", "paymentMethods"]} error={state.error} />
      <Submit busy={state.fetching}>Send the invitation</Submit>
    </form>
  );
}

/** /invitations/accept?token=... (the emailed link) or ?grant=ID (signed in, from the list). */
export function InvitationPage() {
  const { query } = useLocation();
  const { user, memberships, current } = useViewer();
  const token = query.get("token");
  const grantId = query.get("grant");
  if (!user)
    return (
      <Page title="Answer the invitation">
        <p>Log in with the account of the organization that was invited.</p>
        <LoginForm then={location.pathname + location.search} />
      </Page>
    );
  const own = memberships.filter((m) => m.role === "LEGAL_REPRESENTATIVE");
  return (
    <Page title="Answer the invitation">
      <Select
        label="Answer for"
        name="organizationId"
        value={current?.organization.id ?? ""}
        onChange={(e) => setOrganizationId(e.target.value)}
      >
        {own.map((m) => (
          <option key={m.organization.id} value={m.organization.id}>
            {m.organization.name}
          </option>
        ))}
      </Select>
      {current && <Answer key={current.organization.id} organizationId={current.organization.id} token={token} grantId={grantId} />}
    </Page>
  );
}

function Answer({ organizationId, token, grantId }: { organizationId: string; token: string | null; grantId: string | null }) {
  const [result] = useQuery({ query: PartnershipsDocument, variables: { organizationId } });
  const products = useProducts(organizationId);
  const node = result.data?.node?.__typename === "Organization" ? result.data.node : null;
  const pending = node?.partnerships?.edges.map((e) => e.node).filter((g) => g.status === "PENDING" && g.initiatedBy === "PARTNER") ?? [];
  const grant = pending.find((g) => g.id === grantId) ?? (pending.length === 1 ? pending[0] : null);
  const [access, setAccess] = useAccess();
  const [acceptState, accept] = useMutation(AcceptDocument);
  const [refuseState, refuse] = useMutation(RefuseDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [answered, setAnswered] = useState<string | null>(null);
  const who = token ? { token } : { grantId: grant?.id ?? grantId };
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const result = await accept({ input: { ...who, organizationId, access: toInput(access as AccessChoice, "products") } });
    setErrors(result.data?.accept.userErrors ?? []);
    if (result.data?.accept.grant?.status === "ACTIVE") setAnswered(`Accepted: ${result.data.accept.grant.partner.name} now manages what you granted.`);
  };
  const decline = async () => {
    const result = await refuse({ input: who });
    setErrors(result.data?.refuse.userErrors ?? []);
    if (result.data?.refuse.grant) setAnswered("Refused: the partner is told.");
  };
  if (answered)
    return (
      <>
        <p role="status">{answered}</p>
        <button type="button" onClick={() => navigate("/partners")}>
          See your partners
        </button>
      </>
    );
  return (
    <QueryState fetching={result.fetching} error={result.error} hasData={!!node}>
      {() => (
        <form onSubmit={submit} aria-label="Accept the invitation" noValidate>
          {grant ? (
            <p>
              <strong>{grant.partner.name}</strong> asks for {label(grant.requestedAccess.level)} access
              {grant.requestedAccess.productFamilies.length > 0 && <> to {grant.requestedAccess.productFamilies.map(label).join(", ")}</>}
              {grant.requestedAccess.paymentMethods && <> with the {label(grant.requestedAccess.paymentMethods)}'s payment methods</>}. You may
              grant other rights than those asked.
            </p>
          ) : (
            <p>Choose the rights you grant this partner.</p>
          )}
          <AccessFields value={access} onChange={setAccess} by="products" products={products} errors={errors} />
          <FormErrors errors={errors} fields={["level", "productIds", "paymentMethods"]} error={acceptState.error ?? refuseState.error} />
          <Submit busy={acceptState.fetching}>Accept</Submit>{" "}
          <button type="button" className="danger" onClick={decline} disabled={refuseState.fetching}>
            Refuse
          </button>
        </form>
      )}
    </QueryState>
  );
}
