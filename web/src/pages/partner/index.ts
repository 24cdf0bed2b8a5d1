// The partner's Reseller Space: Managed Clients, a client's page, Add a client, pending
// invitations, the prepaid account, received bids, the directory listing.
export { AddClientPage, ClientPage, ManagedClientsPage } from "./clients";
export { InvitationsPage, PendingInvitations } from "./invitations";
export { PrepaidAccountPage } from "./prepaid";
export { ReceivedBidsPage } from "./bids";
export { DirectoryListingPage } from "./listing";
