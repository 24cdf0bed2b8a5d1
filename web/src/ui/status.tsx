import type { ReactNode } from "react";
import type { CombinedError } from "urql";

import { describe } from "./form";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function ErrorBox({ error }: { error: CombinedError | string }) {
  return (
    <div className="error-box" role="alert">
      {typeof error === "string" ? error : describe(error)}
    </div>
  );
}

/** Loading, error or the content: the three states every query page shows. */
export function QueryState({
  fetching,
  error,
  hasData,
  children,
}: {
  fetching: boolean;
  error?: CombinedError;
  hasData: boolean;
  children: () => ReactNode;
}) {
  if (!hasData && fetching) return <Loading />;
  if (!hasData && error) return <ErrorBox error={error} />;
  if (!hasData) return <ErrorBox error="Not found, or not yours to see." />;
  return <>{children()}</>;
}

export function Money({ value }: { value: { amount: string; currency: string } }) {
  return (
    <span className="money">
      {value.amount} {value.currency}
    </span>
  );
}

export function When({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <>—</>;
  return <time dateTime={iso}>{iso.slice(0, 10)}</time>;
}

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title" tabIndex={-1}>
          {title}
        </h1>
        {actions && <div className="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}
