// The partner's invitations: pending ones to resend or cancel, and their page.
import { useState } from "react";
import { useMutation, useQuery } from "urql";

import { label, useViewer } from "../../app/viewer";
import {
  CancelInvitationDocument,
  PartnerInvitationsDocument,
  PartnershipsDocument,
  ResendInvitationDocument,
} from "../../generated/graphql";
import { FormErrors, type UserError } from "../../ui/form";
import { Page, QueryState, When } from "../../ui/status";

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
