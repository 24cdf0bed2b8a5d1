// Forms: every input has its label; each userErrors entry is shown beside the field it
// names (field === the input's name), the others above the submit button.
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import type { CombinedError } from "urql";

export interface UserError {
  /** The input field it names: "email", "access.productIds" or a path ["access", "productIds"]. */
  field: string | readonly string[] | null;
  message: string;
  code: string;
}

function fieldOf(error: UserError): string | null {
  // A path names its last segment's field, as "access.productIds" does.
  if (!error.field) return null;
  const path = typeof error.field === "string" ? error.field.split(".") : error.field;
  return path[path.length - 1] ?? null;
}

export function errorsFor(errors: UserError[], name: string): UserError[] {
  return errors.filter((e) => fieldOf(e) === name);
}

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  name: string;
  errors?: UserError[];
  hint?: string;
}

export function Field({ label, name, errors = [], hint, ...input }: FieldProps) {
  const id = useId();
  const mine = errorsFor(errors, name);
  const described = [hint ? `${id}-hint` : "", mine.length ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        aria-invalid={mine.length > 0 || undefined}
        aria-describedby={described || undefined}
        {...input}
      />
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldErrors id={`${id}-error`} errors={mine} />
    </div>
  );
}

interface SelectProps extends SelectHTMLAttributes<HTMLSelectElement> {
  label: string;
  name: string;
  errors?: UserError[];
  children: ReactNode;
}

export function Select({ label, name, errors = [], children, ...select }: SelectProps) {
  const id = useId();
  const mine = errorsFor(errors, name);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        name={name}
        aria-invalid={mine.length > 0 || undefined}
        aria-describedby={mine.length ? `${id}-error` : undefined}
        {...select}
      >
        {children}
      </select>
      <FieldErrors id={`${id}-error`} errors={mine} />
    </div>
  );
}

/** A group of radios or checkboxes under one legend, its errors beside it. */
export function Choices({
  legend,
  name,
  errors = [],
  children,
}: {
  legend: string;
  name: string;
  errors?: UserError[];
  children: ReactNode;
}) {
  const id = useId();
  const mine = errorsFor(errors, name);
  return (
    <fieldset className="choices" aria-describedby={mine.length ? `${id}-error` : undefined}>
      <legend>{legend}</legend>
      {children}
      <FieldErrors id={`${id}-error`} errors={mine} />
    </fieldset>
  );
}

export function Choice({
  label,
  ...input
}: InputHTMLAttributes<HTMLInputElement> & { label: string }) {
  return (
    <label className="choice">
      <input {...input} /> {label}
    </label>
  );
}

function FieldErrors({ id, errors }: { id: string; errors: UserError[] }) {
  if (!errors.length) return null;
  return (
    <p className="field-error" id={id} role="alert">
      {errors.map((e) => e.message).join(" ")}
    </p>
  );
}

/** Errors that name none of the form's fields, and transport or GraphQL errors. */
export function FormErrors({
  errors = [],
  fields = [],
  error,
}: {
  errors?: UserError[];
  fields?: string[];
  error?: CombinedError | string | null;
}) {
  const rest = errors.filter((e) => !fields.some((f) => errorsFor([e], f).length));
  const messages = rest.map((e) => e.message);
  if (error) messages.push(typeof error === "string" ? error : describe(error));
  if (!messages.length) return null;
  return (
    <div className="form-errors" role="alert">
      {messages.map((m, i) => (
        <p key={i}>{m}</p>
      ))}
    </div>
  );
}

export function describe(error: CombinedError): string {
  if (error.networkError) return "The server cannot be reached. Check the connection and try again.";
  return error.graphQLErrors.map((e) => e.message).join(" ") || error.message;
}

export function Submit({ busy, children }: { busy: boolean; children: ReactNode }) {
  return (
    <button type="submit" disabled={busy} aria-busy={busy || undefined}>
      {busy ? "Working…" : children}
    </button>
  );
}
