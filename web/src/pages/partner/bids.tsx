// Bids received from the directory, and the form to make an offer.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { label } from "../../app/viewer";
import { MakeOfferDocument, ReceivedBidsDocument } from "../../generated/graphql";
import { Field, FormErrors, Submit, type UserError } from "../../ui/form";
import { Money, Page, QueryState, When } from "../../ui/status";
import { NotAPartner, usePartner } from "./common";

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
