// Visitors (no account needed): the partner directory, post a bid, verify its email,
// see the offers and award one.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { Link, navigate, useLocation } from "../app/router";
import { FAMILIES, label } from "../app/viewer";
import { AuthoredBidDocument, AwardOfferDocument, DirectoryDocument, PostBidDocument, VerifyBidEmailDocument, type ProductFamily } from "../generated/graphql";
import { FamilyChoices } from "../ui/access";
import { Field, FormErrors, Select, Submit, type UserError } from "../ui/form";
import { Money, Page, QueryState, When } from "../ui/status";

export function DirectoryPage() {
  const [search, setSearch] = useState("");
  const [family, setFamily] = useState<ProductFamily | "">("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [result] = useQuery({
    query: DirectoryDocument,
    variables: { search: search || null, productFamilies: family ? [family] : null, first: 20, after: cursors[cursors.length - 1] },
  });
  const connection = result.data?.directory;
  return (
    <Page title="Partner directory" actions={<Link className="button primary" href="/bids/new">Post a bid</Link>}>
      <form role="search" className="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Search partners" name="search" type="search" value={search} onChange={(e) => { setSearch(e.target.value); setCursors([null]); }} />
        <Select label="Product family" name="family" value={family} onChange={(e) => { setFamily(e.target.value as ProductFamily | ""); setCursors([null]); }}>
          <option value="">Any</option>
          {FAMILIES.map((f) => (
            <option key={f} value={f}>
              {label(f)}
            </option>
          ))}
        </Select>
      </form>
      <QueryState fetching={result.fetching} error={result.error} hasData={!!connection}>
        {() => (
          <>
            <ul className="cards" aria-label="Partners">
              {connection!.edges.length === 0 && <li>No partner matches.</li>}
              {connection!.edges.map(({ node }) => (
                <li key={node.id} className="card">
                  <h2>
                    {node.name} {node.verified && <span className="badge">Verified</span>}
                  </h2>
                  <p>{node.description}</p>
                  <p>
                    {node.productFamilies.map(label).join(", ")} · {node.languages.join(", ")} · {node.regions.join(", ")}
                    {node.website && (
                      <>
                        {" "}
                        · <a href={node.website} rel="noopener noreferrer nofollow">{node.website}</a>
                      </>
                    )}
                  </p>
                </li>
              ))}
            </ul>
            <nav className="pager" aria-label="Pages of partners">
              <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous page
              </button>
              <button type="button" disabled={!connection!.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, connection!.pageInfo.endCursor])}>
                Next page
              </button>
            </nav>
          </>
        )}
      </QueryState>
    </Page>
  );
}

export function PostBidPage() {
  const [state, postBid] = useMutation(PostBidDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [families, setFamilies] = useState<ProductFamily[]>([]);
  const [sent, setSent] = useState<string | null>(null);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const get = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
    const deadline = get("deadline") ? new Date(`${get("deadline")}T23:59:00Z`).toISOString() : "";
    const result = await postBid({
      input: {
        description: get("description"),
        productFamilies: families,
        budget: { amount: get("budget"), currency: get("currency") as "CHF" | "EUR" },
        language: get("language"),
        region: get("region"),
        deadline,
        email: get("email") || null,
        contactName: get("contactName") || null,
      },
    });
    const payload = result.data?.postBid;
    setErrors(payload?.userErrors ?? []);
    if (payload?.bid) setSent(payload.verificationSent ? "Check your email: the bid goes out once you confirm the address." : `The bid went out to ${payload.matchingPartners ?? 0} partners.`);
  };
  if (sent)
    return (
      <Page title="Bid posted">
        <p role="status">{sent}</p>
      </Page>
    );
  const fields = ["description", "productFamilies", "budget", "amount", "currency", "language", "region", "deadline", "email", "contactName"];
  return (
    <Page title="Post a bid">
      <form onSubmit={submit} aria-label="Post a bid" noValidate>
        <Field label="What do you need?" name="description" required errors={errors} />
        <FamilyChoices value={families} onChange={setFamilies} errors={errors} />
        <Field label="Budget" name="budget" inputMode="decimal" required errors={errors} />
        <Select label="Currency" name="currency" defaultValue="CHF" errors={errors}>
          <option value="CHF">CHF</option>
          <option value="EUR">EUR</option>
        </Select>
        <Field label="Language" name="language" hint="e.g. fr" required errors={errors} />
        <Field label="Region" name="region" hint="e.g. CH-VD" required errors={errors} />
        <Field label="Deadline" name="deadline" type="date" required errors={errors} />
        <Field label="Your email" name="email" type="email" autoComplete="email" errors={errors} />
        <Field label="Your name" name="contactName" autoComplete="name" errors={errors} />
        <FormErrors errors={errors} fields={fields} error={state.error} />
        <Submit busy={state.fetching}>Post the bid</Submit>
      </form>
    </Page>
  );
}

export function VerifyBidPage() {
  const { query } = useLocation();
  const [state, verify] = useMutation(VerifyBidEmailDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const result = await verify({ input: { token: query.get("token") ?? "" } });
    const payload = result.data?.verifyBidEmail;
    setErrors(payload?.userErrors ?? []);
    if (payload?.authorToken) navigate(`/bids/manage?token=${encodeURIComponent(payload.authorToken)}`, true);
  };
  return (
    <Page title="Confirm your bid">
      <form onSubmit={submit} aria-label="Confirm the bid" noValidate>
        <p>Confirm your email address: the bid then goes out to the matching partners.</p>
        <FormErrors errors={errors} error={state.error} />
        <Submit busy={state.fetching}>Confirm and publish the bid</Submit>
      </form>
    </Page>
  );
}

export function ManageBidPage() {
  const { query } = useLocation();
  const authorToken = query.get("token") ?? "";
  const [result] = useQuery({ query: AuthoredBidDocument, variables: { authorToken } });
  const [state, award] = useMutation(AwardOfferDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const bid = state.data?.awardOffer.bid ?? result.data?.authoredBid;
  return (
    <Page title="Your bid">
      <QueryState fetching={result.fetching} error={result.error} hasData={!!bid}>
        {() =>
          bid && (
            <>
              <p>
                {bid.description} · budget <Money value={bid.budget} /> · until <When iso={bid.deadline} /> ·{" "}
                <span className="badge">{label(bid.status)}</span>
              </p>
              <FormErrors errors={errors} error={state.error} />
              <h2>Offers</h2>
              <ul className="cards" aria-label="Offers">
                {(bid.offers ?? []).length === 0 && <li>No offer yet.</li>}
                {(bid.offers ?? []).map((offer) => (
                  <li key={offer.id} className="card">
                    <h3>{offer.partnerName}</h3>
                    <p>
                      <Money value={offer.amount} /> — {offer.message}
                    </p>
                    {offer.awarded ? (
                      <p role="status">Awarded: {offer.partnerName} received your contact details.</p>
                    ) : (
                      bid.status === "OPEN" && (
                        <button
                          type="button"
                          disabled={state.fetching}
                          onClick={async () => {
                            const r = await award({ input: { offerId: offer.id, authorToken } });
                            setErrors(r.data?.awardOffer.userErrors ?? []);
                          }}
                        >
                          Award to {offer.partnerName}
                        </button>
                      )
                    )}
                  </li>
                ))}
              </ul>
            </>
          )
        }
      </QueryState>
    </Page>
  );
}
