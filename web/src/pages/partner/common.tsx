// What the partner's pages share: the acting partner, the page size, the not-a-partner notice.
import { useViewer } from "../../app/viewer";
import { Page } from "../../ui/status";

export const PAGE_SIZE = 20;

export function usePartner() {
  const { current } = useViewer();
  return { organization: current?.organization ?? null, partner: current?.organization.partner ?? null };
}

export function NotAPartner() {
  return (
    <Page title="Reseller Space">
      <p>The organization you act for is not a partner.</p>
    </Page>
  );
}
