// The partner's listing in the public directory (its bid profile).
import { useState, type FormEvent } from "react";
import { useMutation } from "urql";

import { UpdateDirectoryListingDocument, type ProductFamily } from "../../generated/graphql";
import { FamilyChoices } from "../../ui/access";
import { Choice, Field, FormErrors, Submit, type UserError } from "../../ui/form";
import { Page } from "../../ui/status";
import { NotAPartner, usePartner } from "./common";

export function DirectoryListingPage() {
  const { partner } = usePartner();
  const [state, update] = useMutation(UpdateDirectoryListingDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [families, setFamilies] = useState<ProductFamily[]>([]);
  if (!partner) return <NotAPartner />;
  const entry = state.data?.updateDirectoryListing.entry;
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const get = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
    const list = (n: string) => get(n).split(",").map((s) => s.trim()).filter(Boolean);
    const result = await update({
      input: {
        partnerId: partner.id,
        description: get("description"),
        website: get("website") || null,
        languages: list("languages"),
        regions: list("regions"),
        productFamilies: families,
        published: (form.elements.namedItem("published") as HTMLInputElement).checked,
      },
    });
    setErrors(result.data?.updateDirectoryListing.userErrors ?? []);
  };
  return (
    <Page title="Directory listing">
      <form onSubmit={submit} aria-label="Directory listing" noValidate>
        <Field label="Description" name="description" required errors={errors} />
        <Field label="Website" name="website" type="url" errors={errors} />
        <Field label="Languages" name="languages" hint="Comma-separated codes, e.g. fr, de" errors={errors} />
        <Field label="Regions" name="regions" hint="Comma-separated, e.g. CH, CH-VD" errors={errors} />
        <FamilyChoices value={families} onChange={setFamilies} errors={errors} />
        <Choice type="checkbox" name="published" label="Publish in the public directory" />
        <FormErrors
          errors={errors}
          fields={["description", "website", "languages", "regions", "productFamilies", "published"]}
          error={state.error}
        />
        <Submit busy={state.fetching}>Save the listing</Submit>
        {entry && (
          <p role="status">
            Saved{entry.published ? " and published" : " (not published)"}: {entry.name}.
          </p>
        )}
      </form>
    </Page>
  );
}
