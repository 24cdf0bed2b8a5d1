import { getToken } from "../app/session";

/** Export to CSV: the export answers only with the bearer token, so fetch, then save. */
export async function downloadCsv(url: string, filename: string): Promise<void> {
  const token = getToken();
  const response = await fetch(new URL(url, location.href).pathname, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) throw new Error(`The export answered ${response.status}.`);
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}
