// The partner's prepaid account: its balance, entries and a chart of its credits.
import { useQuery } from "urql";

import { label } from "../../app/viewer";
import { PrepaidAccountDocument } from "../../generated/graphql";
import { Money, Page, QueryState, When } from "../../ui/status";
import { usePartner } from "./common";

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
