import { useState, type FormEvent } from "react";
import { useMutation } from "urql";

import { navigate } from "../app/router";
import { StopCollaborationDocument } from "../generated/graphql";
import { Field, FormErrors, Submit, type UserError } from "../ui/form";

/** Stop Collaboration: confirm once, then the account password (either side). */
export function StopCollaboration({ grantId, who, after }: { grantId: string; who: string; after: string }) {
  const [confirming, setConfirming] = useState(false);
  const [state, stop] = useMutation(StopCollaborationDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  if (!confirming)
    return (
      <button type="button" className="danger" onClick={() => setConfirming(true)}>
        Stop collaboration
      </button>
    );
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const password = (event.currentTarget.elements.namedItem("password") as HTMLInputElement).value;
    const result = await stop({ input: { grantId, password } });
    setErrors(result.data?.stopCollaboration.userErrors ?? []);
    if (result.data?.stopCollaboration.grant?.status === "STOPPED") navigate(after);
  };
  return (
    <form onSubmit={submit} aria-label="Stop collaboration" className="danger-zone" noValidate>
      <p>
        Stop the collaboration with <strong>{who}</strong>? The partner loses all access at once.
      </p>
      <Field label="Your password" name="password" type="password" autoComplete="current-password" required autoFocus errors={errors} />
      <FormErrors errors={errors} fields={["password"]} error={state.error} />
      <Submit busy={state.fetching}>Confirm: stop the collaboration</Submit>{" "}
      <button type="button" onClick={() => setConfirming(false)}>
        Keep it
      </button>
    </form>
  );
}
