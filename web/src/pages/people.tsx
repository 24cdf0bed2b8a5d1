// Members of the organization, their invitations, and (for a partner) the collaborators'
// rights on its clients.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { label, useViewer } from "../app/viewer";
import {
  ChangeMemberRoleDocument,
  InviteMemberDocument,
  ManagedClientsDocument,
  MembersDocument,
  RemoveMemberDocument,
  SetCollaboratorRightsDocument,
  WebhookEndpointsDocument,
  type Role,
} from "../generated/graphql";
import { Choice, Choices, Field, FormErrors, Select, Submit, type UserError } from "../ui/form";
import { Page, QueryState, When } from "../ui/status";

const ROLES: Role[] = ["LEGAL_REPRESENTATIVE", "ADMINISTRATOR", "COLLABORATOR", "EXTERNAL"];

export function MembersPage() {
  const { current } = useViewer();
  const organizationId = current?.organization.id ?? "";
  const [result, refetch] = useQuery({ query: MembersDocument, variables: { organizationId }, pause: !current });
  const [, changeRole] = useMutation(ChangeMemberRoleDocument);
  const [, remove] = useMutation(RemoveMemberDocument);
  const [inviteState, invite] = useMutation(InviteMemberDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [inviteErrors, setInviteErrors] = useState<UserError[]>([]);
  const node = result.data?.node?.__typename === "Organization" ? result.data.node : null;
  const reload = () => refetch({ requestPolicy: "network-only" });
  const submitInvite = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const get = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
    const r = await invite({ input: { organizationId, email: get("email"), role: get("role") as Role } });
    setInviteErrors(r.data?.inviteMember.userErrors ?? []);
    if (r.data?.inviteMember.invitation) {
      form.reset();
      reload();
    }
  };
  return (
    <Page title="Members">
      <QueryState fetching={result.fetching} error={result.error} hasData={!!node?.members}>
        {() => (
          <>
            <FormErrors errors={errors} />
            <table aria-label="Members">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Since</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {node!.members!.edges.map(({ node: m }) => (
                  <tr key={m.id}>
                    <td>{m.fullName}</td>
                    <td>{m.email}</td>
                    <td>
                      <Select
                        label={`Role of ${m.fullName}`}
                        name="role"
                        value={m.role}
                        onChange={async (e) => {
                          const r = await changeRole({ input: { memberId: m.id, role: e.target.value as Role } });
                          setErrors(r.data?.changeMemberRole.userErrors ?? []);
                          reload();
                        }}
                      >
                        {ROLES.map((role) => (
                          <option key={role} value={role}>
                            {label(role)}
                          </option>
                        ))}
                      </Select>
                    </td>
                    <td>
                      <When iso={m.since} />
                    </td>
                    <td>
                      <button
                        type="button"
                        onClick={async () => {
                          const r = await remove({ input: { memberId: m.id } });
                          setErrors(r.data?.removeMember.userErrors ?? []);
                          reload();
                        }}
                      >
                        Remove {m.fullName}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>Pending invitations</h2>
            <ul>
              {node!.memberInvitations?.edges.map(({ node: i }) => (
                <li key={i.id}>
                  {i.email} as {label(i.role)}, until <When iso={i.expiresAt} />
                </li>
              ))}
              {!node!.memberInvitations?.edges.length && <li>None.</li>}
            </ul>
          </>
        )}
      </QueryState>
      <form onSubmit={submitInvite} aria-label="Invite a member" noValidate>
        <h2>Invite a member</h2>
        <Field label="Email" name="email" type="email" required errors={inviteErrors} />
        <Select label="Role" name="role" defaultValue="COLLABORATOR" errors={inviteErrors}>
          {ROLES.map((role) => (
            <option key={role} value={role}>
              {label(role)}
            </option>
          ))}
        </Select>
        <FormErrors errors={inviteErrors} fields={["email", "role"]} error={inviteState.error} />
        <Submit busy={inviteState.fetching}>Send the invitation</Submit>
      </form>
    </Page>
  );
}

export function CollaboratorsPage() {
  const { current } = useViewer();
  const organizationId = current?.organization.id ?? "";
  const partnerId = current?.organization.partner?.id ?? "";
  const [members, refetch] = useQuery({ query: MembersDocument, variables: { organizationId }, pause: !current });
  const [clients] = useQuery({ query: ManagedClientsDocument, variables: { partnerId, first: 100, after: null }, pause: !partnerId });
  const node = members.data?.node?.__typename === "Organization" ? members.data.node : null;
  const collaborators = node?.members?.edges.map((e) => e.node).filter((m) => m.role === "COLLABORATOR") ?? [];
  const clientList = clients.data?.node?.__typename === "Partner" ? clients.data.node.clients?.edges.map((e) => e.node) ?? [] : [];
  return (
    <Page title="Collaborators">
      <QueryState fetching={members.fetching} error={members.error} hasData={!!node}>
        {() => (
          <>
            {collaborators.length === 0 && <p>No collaborator yet: invite one from Members.</p>}
            {collaborators.map((m) => (
              <Rights
                key={m.id}
                memberId={m.id}
                name={m.fullName}
                clients={clientList}
                chosen={m.collaboratorRights?.clients.map((c) => c.clientId) ?? []}
                onDone={() => refetch({ requestPolicy: "network-only" })}
              />
            ))}
          </>
        )}
      </QueryState>
    </Page>
  );
}

function Rights({ memberId, name, clients, chosen, onDone }: { memberId: string; name: string; clients: { id: string; name: string }[]; chosen: string[]; onDone: () => void }) {
  const [selected, setSelected] = useState<string[]>(chosen);
  const [state, setRights] = useMutation(SetCollaboratorRightsDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [saved, setSaved] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const r = await setRights({ input: { memberId, clients: selected.map((clientId) => ({ clientId, allProducts: true })) } });
    setErrors(r.data?.setCollaboratorRights.userErrors ?? []);
    setSaved(!!r.data?.setCollaboratorRights.rights);
    onDone();
  };
  return (
    <form onSubmit={submit} aria-label={`Rights of ${name}`} className="panel" noValidate>
      <Choices legend={`${name} acts for`} name="clients" errors={errors}>
        {clients.map((c) => (
          <Choice key={c.id} type="checkbox" label={c.name} checked={selected.includes(c.id)} onChange={() => setSelected(selected.includes(c.id) ? selected.filter((x) => x !== c.id) : [...selected, c.id])} />
        ))}
      </Choices>
      <FormErrors errors={errors} fields={["clients", "clientId"]} error={state.error} />
      <Submit busy={state.fetching}>Save the rights</Submit>
      {saved && <p role="status">Saved: applies from {name}'s next request.</p>}
    </form>
  );
}

/** The organization's webhook endpoints (the email about a disabled endpoint links here). */
export function WebhooksPage() {
  const { current } = useViewer();
  const [result] = useQuery({
    query: WebhookEndpointsDocument,
    variables: { organizationId: current?.organization.id ?? "" },
    pause: !current,
  });
  const node = result.data?.node?.__typename === "Organization" ? result.data.node : null;
  return (
    <Page title="Webhooks">
      <QueryState fetching={result.fetching} error={result.error} hasData={!!node?.webhookEndpoints}>
        {() => (
          <table aria-label="Webhook endpoints">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Status</th>
                <th scope="col">Failing since</th>
              </tr>
            </thead>
            <tbody>
              {node!.webhookEndpoints!.edges.map(({ node: e }) => (
                <tr key={e.id}>
                  <td>{e.url}</td>
                  <td>{e.eventKinds.map(label).join(", ")}</td>
                  <td>{label(e.status)}</td>
                  <td>
                    <When iso={e.failingSince ?? e.disabledAt} />
                  </td>
                </tr>
              ))}
              {node!.webhookEndpoints!.edges.length === 0 && (
                <tr>
                  <td colSpan={4}>No webhook endpoint.</td>
                </tr>
              )}
            </tbody>
          </table>
        )}
      </QueryState>
    </Page>
  );
}
